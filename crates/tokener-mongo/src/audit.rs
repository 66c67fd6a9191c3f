//! The audit trail in the `audit` collection: one document per event, `_id` = the event id,
//! which sorts in time order (and is the listing's cursor); `at` is indexed for queries by
//! time from outside.

use crate::documents::{from_date, to_date};
use crate::errors::bounded;
use crate::store::Shared;
use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use std::sync::Arc;
use tokener_core::{AuditEvent, AuditLog, StoreError};

pub(crate) const AUDIT: &str = "audit";

/// The [`AuditLog`] on MongoDB.
#[derive(Clone)]
pub struct MongoAuditLog {
    shared: Arc<Shared>,
}

impl MongoAuditLog {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    fn collection(&self) -> mongodb::Collection<Document> {
        self.shared.database.collection(AUDIT)
    }
}

#[async_trait]
impl AuditLog for MongoAuditLog {
    async fn append(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let optional = |v: &Option<String>| v.clone().map_or(Bson::Null, Bson::String);
        let document = doc! {
            "_id": &event.id,
            "at": to_date(event.at),
            "actor": &event.actor,
            "action": &event.action,
            "target": &event.target,
            "outcome": &event.outcome,
            "request_id": optional(&event.request_id),
            "count": event.count.map_or(Bson::Null, |n| Bson::Int64(i64::try_from(n).unwrap_or(i64::MAX))),
        };
        bounded(
            self.shared.operation_timeout,
            "record an audit event",
            self.collection().insert_one(document),
        )
        .await
        .map(|_| ())
    }

    async fn list(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let filter = match after {
            Some(after) => doc! { "_id": { "$gt": after } },
            None => doc! {},
        };
        let documents = bounded(self.shared.operation_timeout, "list audit events", async {
            self.collection()
                .find(filter)
                .sort(doc! { "_id": 1 })
                .selection_criteria(self.shared.listings.clone())
                .limit(i64::try_from(limit).unwrap_or(i64::MAX))
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        documents.iter().map(parse).collect()
    }
}

fn parse(document: &Document) -> Result<AuditEvent, StoreError> {
    let id = document.get_str("_id").unwrap_or("?").to_string();
    let corrupt = |what: &str| StoreError::corrupt(format!("audit event {id}: bad {what}"));
    let text = |field: &str| {
        document
            .get_str(field)
            .map(str::to_string)
            .map_err(|_| corrupt(field))
    };
    let at = document.get_datetime("at").map_err(|_| corrupt("at"))?;
    Ok(AuditEvent {
        at: from_date(*at, "at", &id)?,
        actor: text("actor")?,
        action: text("action")?,
        target: text("target")?,
        outcome: text("outcome")?,
        request_id: document.get_str("request_id").ok().map(str::to_string),
        count: match document.get("count") {
            Some(Bson::Int64(n)) => Some(u64::try_from(*n).map_err(|_| corrupt("count"))?),
            Some(Bson::Int32(n)) => Some(u64::try_from(*n).map_err(|_| corrupt("count"))?),
            _ => None,
        },
        id,
    })
}

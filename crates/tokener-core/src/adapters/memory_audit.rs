//! The audit trail in process memory (the embedded mode): the newest events, bounded.

use crate::domain::AuditEvent;
use crate::ports::{AuditLog, StoreError};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// How many events the embedded mode keeps: the oldest go first.
pub const MEMORY_AUDIT_EVENTS: usize = 100_000;

#[derive(Debug, Default)]
pub struct InMemoryAuditLog {
    events: Mutex<BTreeMap<String, AuditEvent>>,
}

impl InMemoryAuditLog {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AuditLog for InMemoryAuditLog {
    async fn append(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events.insert(event.id.clone(), event.clone());
        while events.len() > MEMORY_AUDIT_EVENTS {
            events.pop_first();
        }
        Ok(())
    }

    async fn list(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let range = match &after {
            Some(after) => events
                .range::<String, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            None => events.range::<String, _>(..),
        };
        Ok(range.take(limit).map(|(_, e)| e.clone()).collect())
    }
}

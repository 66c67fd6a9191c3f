//! The audit trail: append-only, listed in time order.

use crate::domain::AuditEvent;
use crate::ports::StoreError;
use async_trait::async_trait;
use std::sync::Arc;

#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync + 'static {
    async fn append(&self, event: &AuditEvent) -> Result<(), StoreError>;

    /// Up to `limit` events after the event id `after` (from the first when `None`), oldest
    /// first.
    async fn list(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError>;
}

#[async_trait]
impl<T: AuditLog + ?Sized> AuditLog for Arc<T> {
    async fn append(&self, event: &AuditEvent) -> Result<(), StoreError> {
        (**self).append(event).await
    }
    async fn list(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        (**self).list(after, limit).await
    }
}

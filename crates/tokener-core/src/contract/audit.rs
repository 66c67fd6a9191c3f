//! The contract of the audit trail port.

use crate::domain::{AuditEvent, Timestamp};
use crate::ports::AuditLog;

/// Appended events list back whole, oldest first, paged after an id.
pub async fn audit_log<A: AuditLog>(log: &A) {
    assert!(log.list(None, 10).await.unwrap().is_empty());
    let at = |ms: u64| Timestamp::from_unix_millis(1_800_000_000_000 + ms);
    let events = [
        AuditEvent::new(at(5), "ops", "client.created", "client:billing", "ok")
            .request_id(Some("req-1".into())),
        AuditEvent::new(at(1), "ops", "key.added", "key:2", "ok"),
        AuditEvent::new(at(9), "-", "auth.refused", "source:203.0.113.9", "refused").count(20),
    ];
    for event in &events {
        log.append(event).await.unwrap();
    }
    let listed = log.list(None, 10).await.unwrap();
    assert_eq!(
        listed,
        vec![events[1].clone(), events[0].clone(), events[2].clone()],
        "in time order, every field kept"
    );
    let page = log.list(None, 2).await.unwrap();
    assert_eq!(page.len(), 2);
    let rest = log.list(Some(page[1].id.clone()), 10).await.unwrap();
    assert_eq!(rest, vec![events[2].clone()]);
    assert!(log
        .list(Some(events[2].id.clone()), 10)
        .await
        .unwrap()
        .is_empty());
}

//! Write-behind (uses the domain and the ports only): token records go to a durable queue on the request path and reach the
//! permanent store later, in batches, through [`WriteBehindWorker`]; a cache in front answers
//! the hot reads (verification, client authentication).
//!
//! The promise to clients: a successful `record` means the record is durably enqueued and will
//! reach the permanent store. The pieces that keep it:
//!
//! * [`WriteBehindStore::record`] (and `record_many`, a group commit's batch) succeeds only
//!   once the queue accepted the records (the queue port's `enqueue_many` is durable on `Ok`).
//! * The worker acknowledges entries only after the permanent store confirmed them, so a crash
//!   at any point leaves them pending, to be handed out again (to the same consumer name on
//!   restart, or to another instance once idle long enough). The permanent store's
//!   `record_many` is idempotent, so writing an entry twice is harmless.
//! * Revocation of a token still in the queue writes its record through to the permanent store
//!   first, so the worker's later insert (a no-op for an id already recorded) cannot undo it.
//!
//! The runtime is the caller's: nothing here sleeps or spawns. The binary drives
//! [`WriteBehindWorker::run_once`] in a loop of its own, backs off after errors, and calls
//! [`WriteBehindWorker::drain`] on shutdown.

mod clients;
mod store;
mod worker;

pub use clients::CachedClientRegistry;
pub use store::WriteBehindStore;
pub use worker::{WorkerConfig, WorkerReport, WriteBehindWorker};

//! The connections operations run on: one shared multiplexed connection for the short
//! commands of the request path, pooled connections for blocking reads.
//!
//! Why not the pool for everything: deadpool-redis checks every connection it hands out with
//! an `UNWATCH`+`PING` round trip, which more than doubled the round trips of a token request
//! (measured: three checkouts, so three extra round trips, per issued token). A multiplexed
//! connection needs no checkout at all: concurrent commands are pipelined on its one socket,
//! so Redis reads many of them in one go and, with `appendfsync always`, fsyncs once for all
//! of them. Blocking reads (`XREADGROUP ... BLOCK`) would stall everything queued behind them
//! on that socket, so they keep using pooled connections.
//!
//! On a Redis Cluster one cluster connection (the `redis` crate's: a multiplexed connection
//! per node, routing each command by its key's slot, following `MOVED`/`ASK` and refreshing
//! the slot map after a failover) carries every command; nothing blocks on it (see
//! [`crate::queue`]).

use deadpool_redis::redis::aio::{ConnectionLike, MultiplexedConnection};
use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};
use deadpool_redis::{Connection as Pooled, Pool};
use std::collections::HashMap;
use std::sync::Mutex;
use std::thread::ThreadId;

/// A connection an operation runs on: either kind behaves the same to the commands.
pub(crate) enum Conn {
    Pooled(Pooled),
    Shared(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Pooled(c) => c.req_packed_command(cmd),
            Conn::Shared(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Pooled(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Shared(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Pooled(c) => c.get_db(),
            Conn::Shared(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// The multiplexed connections, one per thread that uses them, taken from the pool when
/// first needed and replaced after a failure that may have broken them.
///
/// One per thread because a multiplexed connection's I/O is driven by a task on the runtime
/// that opened it: actix runs a single-threaded runtime per worker thread, so with one
/// connection shared by all workers every reply hops threads (and may wait for a worker busy
/// signing a token). Measured against one shared connection the difference was within the
/// noise (5,350-5,950 against 5,430 tokens/s); per thread is kept as the layout that avoids
/// the hop.
#[derive(Default)]
pub(crate) struct SharedConnection {
    // A std mutex: it is held only to clone or swap a handle, never across an await.
    slots: Mutex<HashMap<ThreadId, MultiplexedConnection>>,
}

impl SharedConnection {
    /// A handle to this thread's connection (clones share the socket), opening it if needed.
    pub(crate) async fn get(&self, pool: &Pool) -> Result<MultiplexedConnection, PoolError> {
        let thread = std::thread::current().id();
        if let Some(connection) = self.lock().get(&thread) {
            return Ok(connection.clone());
        }
        let fresh = Pooled::take(pool.get().await?);
        Ok(self.lock().entry(thread).or_insert(fresh).clone())
    }

    /// Forgets this thread's connection after a failure that may have left it unusable (an
    /// I/O error, or no answer in time); the next operation opens another. Callers still
    /// holding a handle finish with it; the socket closes when the last one is dropped.
    pub(crate) fn discard(&self) {
        self.lock().remove(&std::thread::current().id());
    }

    /// Whether an error means the connection should be replaced. Server error replies
    /// (`NOGROUP`, `WRONGTYPE`...) leave it in a good state.
    pub(crate) fn breaks_connection(error: &RedisError) -> bool {
        error.is_io_error() || error.is_connection_dropped() || error.is_unrecoverable_error()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ThreadId, MultiplexedConnection>> {
        // A panic while holding the lock cannot leave the map half-written: take the data.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub(crate) type PoolError = deadpool_redis::PoolError;

//! The write-behind queue on a Redis Stream with one consumer group.
//!
//! * `enqueue` is `XADD` without any trimming: an entry leaves the stream only once it was
//!   acknowledged (or dead-lettered), never because the stream grew long.
//! * `read` is `XREADGROUP ... >`, `redeliver` is `XREADGROUP ... 0` (this consumer's own
//!   pending entries), `reclaim` is `XAUTOCLAIM`; delivery counts come from `XPENDING`.
//! * `ack` is `XACK` and `XDEL` in one transaction, so the stream holds exactly the
//!   unacknowledged entries and its length is the queue's depth.
//! * `dead_letter` copies the entry as it is (payload included, even an undecodable one) to
//!   the dead-letter stream and removes it, atomically, in a Lua script.
//!
//! If the stream or the group disappears (a flush, a lost Redis), the group is recreated and
//! the operation retried once.
//!
//! A partitioned queue (see [`crate::RedisConfig::stream_partitions`]) is that, once per
//! partition: a batch is appended to one partition, reads and takeovers visit every
//! partition in turn (from a different one each time), and entry ids name their partition.
//! Order holds within a partition. A partitioned read never blocks: on a cluster the one
//! connection is shared by every command, so an empty pass waits [`EMPTY_PASS_WAIT`] (at
//! most the asked block time) before it returns.

mod partitions;
mod port;

use crate::codec::decode_record;
use crate::connection::Conn;
use crate::errors::{has_code, NO_GROUP};
use crate::reply::{self, RawEntry, RECORD_FIELD};
use crate::store::Shared;
use deadpool_redis::redis::{self, RedisError, Value};
use partitions::Partitions;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokener_core::{EntryId, QueuedRecord, StoreError};

/// At most this many `XAUTOCLAIM` round trips per `reclaim`: each scans a stretch of the
/// pending list, and a long list with few idle entries should not hold one cycle for long.
const MAX_CLAIM_ROUNDS: usize = 8;

/// How long a read of a partitioned queue that found nothing waits before it returns (the
/// worker then reads again): what an entry may wait for its first read when the queue was
/// idle, against a pass of every partition's `XREADGROUP` ten times a second per lane.
pub(crate) const EMPTY_PASS_WAIT: Duration = Duration::from_millis(100);

/// Moves an entry to the dead-letter stream and removes it from the queue, in one step.
/// KEYS: queue stream, dead-letter stream. ARGV: group, entry id, reason, deliveries, payload
/// to log if the entry is gone from the stream.
const DEAD_LETTER_SCRIPT: &str = r"
local found = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
local payload = ARGV[5]
if #found > 0 then
  local fields = found[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'record' then payload = fields[i + 1] end
  end
end
redis.call('XADD', KEYS[2], '*', 'entry', ARGV[2], 'record', payload,
  'reason', ARGV[3], 'deliveries', ARGV[4])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
";

/// The queue adapter. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct RedisQueue {
    shared: Arc<Shared>,
    partitions: Arc<Partitions>,
    dead_letter_script: Arc<redis::Script>,
}

impl RedisQueue {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            partitions: Arc::new(Partitions::new(shared.partitions.len())),
            shared,
            dead_letter_script: Arc::new(redis::Script::new(DEAD_LETTER_SCRIPT)),
        }
    }

    /// Appends a raw payload as is to the first partition (tests use it to make a poison
    /// entry).
    pub(crate) async fn push_raw(&self, payload: Vec<u8>) -> Result<EntryId, StoreError> {
        let mut ids = self.append(0, vec![payload]).await?;
        Ok(ids.remove(0))
    }

    fn stream(&self, partition: usize) -> String {
        self.shared.partitions[partition].stream.clone()
    }

    /// Whether reads may block on the stream: only with one stream on a single Redis.
    fn reads_block(&self) -> bool {
        self.partitions.count() == 1 && !self.shared.config.is_cluster()
    }

    /// Appends the payloads in one round trip and returns their entry ids once they are as
    /// durable as configured: on the primary (its AOF, under `appendfsync always`, is written
    /// before it replies), and on [`crate::RedisConfig::wait_replicas`] replicas.
    async fn append(
        &self,
        partition: usize,
        payloads: Vec<Vec<u8>>,
    ) -> Result<Vec<EntryId>, StoreError> {
        let stream = self.stream(partition);
        let replicas = self.shared.config.wait_replicas;
        let wait = self.shared.config.command_timeout;
        // A `WAIT` at the end covers every write before it on the connection. Waiting on a
        // connection of its own (a non-zero `extra`) keeps other callers' commands from
        // queueing behind it on the shared one.
        let extra = if replicas > 0 { wait } else { Duration::ZERO };
        let (ids, confirmed): (Vec<String>, Option<u32>) = self
            .shared
            .run("enqueue", extra, |mut c| {
                let mut pipe = redis::pipe();
                for payload in &payloads {
                    pipe.add_command(xadd(&stream, payload));
                }
                if replicas > 0 {
                    pipe.cmd("WAIT").arg(replicas).arg(wait_millis(wait));
                }
                async move {
                    let mut replies: Vec<Value> = pipe.query_async(&mut c).await?;
                    let confirmed = if replicas > 0 {
                        replies
                            .pop()
                            .map(redis::from_redis_value::<u32>)
                            .transpose()?
                    } else {
                        None
                    };
                    let ids = replies
                        .into_iter()
                        .map(redis::from_redis_value::<String>)
                        .collect::<Result<_, _>>()?;
                    Ok((ids, confirmed))
                }
            })
            .await?;
        if let Some(count) = confirmed.filter(|&count| count < replicas) {
            return Err(StoreError::unavailable(format!(
                "enqueue: {count} of the {replicas} replicas asked for confirmed the records \
                 within {} ms",
                wait.as_millis()
            )));
        }
        Ok(ids
            .into_iter()
            .map(|id| self.partitions.entry_id(partition, id))
            .collect())
    }

    /// Runs a group command on a partition; if the group is gone (`NOGROUP`), recreates it
    /// and runs it again.
    async fn with_group<T, F, Fut>(
        &self,
        operation: &'static str,
        partition: usize,
        extra: Duration,
        work: F,
    ) -> Result<T, StoreError>
    where
        F: Fn(Conn) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        match self.shared.run_raw(operation, extra, &work).await? {
            Ok(value) => Ok(value),
            Err(error) if has_code(&error, NO_GROUP) => {
                tracing::warn!(
                    stream = %self.shared.partitions[partition].stream,
                    "the queue's consumer group was missing (Redis lost data?); recreating it"
                );
                self.shared.ensure_group(partition).await?;
                self.shared.run(operation, extra, work).await
            }
            Err(error) => Err(self.shared.store_error(operation, &error)),
        }
    }

    /// Decodes entries of a partition, with their delivery counts (`default` where none is
    /// known).
    fn queued(
        &self,
        partition: usize,
        entries: Vec<RawEntry>,
        counts: &HashMap<String, u64>,
        default: u64,
    ) -> Vec<QueuedRecord> {
        entries
            .into_iter()
            .map(|entry| QueuedRecord {
                record: entry.payload.as_deref().and_then(decode_record),
                deliveries: counts.get(&entry.id).copied().unwrap_or(default),
                entry: self.partitions.entry_id(partition, entry.id),
            })
            .collect()
    }

    /// The delivery counts of these entries of a partition, one `XPENDING` each, in one round
    /// trip.
    async fn delivery_counts(
        &self,
        partition: usize,
        ids: &[String],
    ) -> Result<HashMap<String, u64>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let stream = self.stream(partition);
        let group = self.shared.config.group.clone();
        let replies: Vec<Value> = self
            .with_group(
                "read delivery counts",
                partition,
                Duration::ZERO,
                |mut c| {
                    let mut pipe = redis::pipe();
                    for id in ids {
                        pipe.cmd("XPENDING")
                            .arg(&stream)
                            .arg(&group)
                            .arg(id)
                            .arg(id)
                            .arg(1);
                    }
                    async move { pipe.query_async(&mut c).await }
                },
            )
            .await?;
        let mut counts = HashMap::new();
        for reply in &replies {
            counts.extend(reply::pending_counts("read delivery counts", reply)?);
        }
        Ok(counts)
    }
}

/// Appends one entry; no MAXLEN, as trimming would drop entries not yet written to the
/// permanent store.
fn xadd(stream: &str, payload: &[u8]) -> redis::Cmd {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(stream).arg("*").arg(RECORD_FIELD).arg(payload);
    cmd
}

fn block_millis(block: Duration) -> Option<u64> {
    // BLOCK 0 means "forever" to Redis: no wait is expressed by leaving BLOCK out.
    (!block.is_zero()).then(|| wait_millis(block))
}

/// A wait in the milliseconds `BLOCK` and `WAIT` take, at least 1 (0 means "forever" to both).
fn wait_millis(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// One partition's share of each port operation (the port, in [`port`], visits partitions).
impl RedisQueue {
    async fn read_partition(
        &self,
        partition: usize,
        consumer: &str,
        max: usize,
        block: Duration,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        let stream = self.stream(partition);
        let group = self.shared.config.group.clone();
        let reply: Value = self
            .with_group("read", partition, block, |mut c| {
                let mut cmd = redis::cmd("XREADGROUP");
                cmd.arg("GROUP")
                    .arg(&group)
                    .arg(consumer)
                    .arg("COUNT")
                    .arg(max);
                if let Some(ms) = block_millis(block) {
                    cmd.arg("BLOCK").arg(ms);
                }
                cmd.arg("STREAMS").arg(&stream).arg(">");
                async move { cmd.query_async(&mut c).await }
            })
            .await?;
        let entries = reply::read_group("read", &reply)?;
        Ok(self.queued(partition, entries, &HashMap::new(), 1))
    }

    async fn redeliver_partition(
        &self,
        partition: usize,
        consumer: &str,
        max: usize,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        let stream = self.stream(partition);
        let group = self.shared.config.group.clone();
        // Reading this consumer's history (id 0) hands out the first `max` of its pending
        // entries and counts the delivery; the XPENDING right after, in the same round trip,
        // lists the same entries with their new counts.
        let (read, pending): (Value, Value) = self
            .with_group("redeliver", partition, Duration::ZERO, |mut c| {
                let mut pipe = redis::pipe();
                pipe.cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(&group)
                    .arg(consumer)
                    .arg("COUNT")
                    .arg(max)
                    .arg("STREAMS")
                    .arg(&stream)
                    .arg("0")
                    .cmd("XPENDING")
                    .arg(&stream)
                    .arg(&group)
                    .arg("-")
                    .arg("+")
                    .arg(max)
                    .arg(consumer);
                async move { pipe.query_async(&mut c).await }
            })
            .await?;
        let entries = reply::read_group("redeliver", &read)?;
        let counts: HashMap<String, u64> = reply::pending_counts("redeliver", &pending)?
            .into_iter()
            .collect();
        Ok(self.queued(partition, entries, &counts, 1))
    }

    async fn reclaim_partition(
        &self,
        partition: usize,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<QueuedRecord>, StoreError> {
        let stream = self.stream(partition);
        let group = self.shared.config.group.clone();
        let idle_ms = u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX);
        let mut claimed: Vec<RawEntry> = Vec::new();
        let mut cursor = "0-0".to_owned();
        for _ in 0..MAX_CLAIM_ROUNDS {
            if claimed.len() >= max {
                break;
            }
            let want = max - claimed.len();
            let start = cursor.clone();
            let reply: Value = self
                .with_group("reclaim", partition, Duration::ZERO, |mut c| {
                    let mut cmd = redis::cmd("XAUTOCLAIM");
                    cmd.arg(&stream)
                        .arg(&group)
                        .arg(consumer)
                        .arg(idle_ms)
                        .arg(&start)
                        .arg("COUNT")
                        .arg(want);
                    async move { cmd.query_async(&mut c).await }
                })
                .await?;
            let (next, entries) = reply::auto_claim("reclaim", &reply)?;
            claimed.extend(entries);
            if next == "0-0" {
                break;
            }
            cursor = next;
        }
        let ids: Vec<String> = claimed.iter().map(|e| e.id.clone()).collect();
        let counts = self.delivery_counts(partition, &ids).await?;
        Ok(self.queued(partition, claimed, &counts, 1))
    }

    async fn ack_partition(&self, partition: usize, ids: &[&str]) -> Result<(), StoreError> {
        let stream = self.stream(partition);
        let group = self.shared.config.group.clone();
        // In one transaction: acknowledged entries must not linger in the stream (they would
        // count as depth forever), deleted ones not in the pending list.
        self.with_group("ack", partition, Duration::ZERO, |mut c| {
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("XACK")
                .arg(&stream)
                .arg(&group)
                .arg(ids)
                .ignore()
                .cmd("XDEL")
                .arg(&stream)
                .arg(ids)
                .ignore();
            async move { pipe.query_async::<()>(&mut c).await }
        })
        .await
    }

    async fn dead_letter_entry(
        &self,
        entry: &QueuedRecord,
        reason: &str,
    ) -> Result<(), StoreError> {
        let (partition, raw) = self.partitions.split(&entry.entry)?;
        let fallback = entry
            .record
            .as_ref()
            .and_then(|r| serde_json::to_vec(r).ok())
            .unwrap_or_default();
        let script = self.dead_letter_script.clone();
        let keys = &self.shared.partitions[partition];
        let (stream, dead) = (keys.stream.clone(), keys.dead_letters.clone());
        let group = self.shared.config.group.clone();
        self.shared
            .run("dead-letter", Duration::ZERO, |mut c| async move {
                script
                    .key(&stream)
                    .key(&dead)
                    .arg(&group)
                    .arg(raw)
                    .arg(reason)
                    .arg(entry.deliveries)
                    .arg(fallback)
                    .invoke_async::<i64>(&mut c)
                    .await
                    .map(|_| ())
            })
            .await
    }

    async fn partition_stats(&self, partition: usize) -> Result<PartitionStats, StoreError> {
        let keys = &self.shared.partitions[partition];
        let (stream, dead) = (keys.stream.clone(), keys.dead_letters.clone());
        let group = self.shared.config.group.clone();
        let (depth, pending, oldest, dead_letters, now): (u64, Value, Value, u64, Value) = self
            .with_group("queue stats", partition, Duration::ZERO, |mut c| {
                let mut pipe = redis::pipe();
                pipe.cmd("XLEN")
                    .arg(&stream)
                    .cmd("XPENDING")
                    .arg(&stream)
                    .arg(&group)
                    .cmd("XRANGE")
                    .arg(&stream)
                    .arg("-")
                    .arg("+")
                    .arg("COUNT")
                    .arg(1)
                    .cmd("XLEN")
                    .arg(&dead)
                    .cmd("TIME");
                async move { pipe.query_async(&mut c).await }
            })
            .await?;
        // Lag by the clock of the server that made the stream ids.
        let now_ms = reply::time_millis("queue stats", &now)?;
        let lag = reply::entries("queue stats", &oldest)?
            .first()
            .and_then(|e| reply::id_millis(&e.id))
            .map(|ms| Duration::from_millis(now_ms.saturating_sub(ms)));
        Ok(PartitionStats {
            depth,
            pending: reply::pending_total("queue stats", &pending)?,
            lag,
            dead_letters,
        })
    }
}

struct PartitionStats {
    depth: u64,
    pending: u64,
    lag: Option<Duration>,
    dead_letters: u64,
}

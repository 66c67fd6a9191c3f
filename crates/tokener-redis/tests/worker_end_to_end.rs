//! The whole write-behind path on real servers: records enqueued in Redis, a consumer that
//! dies holding some of them, and two workers (two consumers of one group) draining the queue
//! into MongoDB (FerretDB in the test set-up). Every record must arrive exactly once.

use mongodb::bson::{doc, Document};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokener_core::contract::{sample_record, CountingStore};
use tokener_core::{
    RecordQueue, Timestamp, TokenRecord, TokenStore, WorkerConfig, WorkerReport, WriteBehindWorker,
};
use tokener_mongo::testing::TestDb;
use tokener_redis::testing::TestRedis;
use tokener_redis::RedisQueue;

const RECORDS: usize = 2000;

/// Runs cycles until the queue is empty, backing off after errors, as the service's task
/// does; gives up at `deadline`.
async fn drive<S: TokenStore>(
    worker: Arc<WriteBehindWorker<RedisQueue, S>>,
    consumer: &'static str,
    deadline: Instant,
) -> WorkerReport {
    let mut total = WorkerReport::default();
    let mut errors = 0u32;
    loop {
        assert!(
            Instant::now() < deadline,
            "{consumer} did not finish in time"
        );
        match worker.run_once(consumer).await {
            Ok(report) => {
                total.written += report.written;
                total.reclaimed += report.reclaimed;
                total.dead_lettered += report.dead_lettered;
                if report.is_idle() && worker.stats().await.unwrap().depth == 0 {
                    return total;
                }
            }
            Err(error) => {
                errors += 1;
                assert!(errors < 20, "{consumer} keeps failing: {error}");
                eprintln!("{consumer}: {error}; backing off");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(errors))).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_drain_the_queue_into_mongodb_exactly_once() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    let Some(redis) = TestRedis::connect().await else {
        db.cleanup().await;
        return;
    };
    drain_exactly_once(&db, &redis).await;
    redis.cleanup().await;
    db.cleanup().await;
}

/// The same on a Redis Cluster, the queue spread over partitions on three primaries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_drain_a_cluster_queue_into_mongodb_exactly_once() {
    let Some(db) = TestDb::connect().await else {
        return;
    };
    let Some(redis) = TestRedis::connect_cluster().await else {
        db.cleanup().await;
        return;
    };
    drain_exactly_once(&db, &redis).await;
    redis.cleanup().await;
    db.cleanup().await;
}

async fn drain_exactly_once(db: &TestDb, redis: &TestRedis) {
    let queue = redis.store.queue();
    let expires = Timestamp::from_system_time(std::time::SystemTime::now())
        .plus_secs(3600)
        .unix();

    // Enqueued by 8 concurrent "requests" at a time.
    let records: Vec<TokenRecord> = (0..RECORDS)
        .map(|i| sample_record("billing", expires + i as u64))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in records.chunks(RECORDS / 8) {
        let (queue, chunk) = (queue.clone(), chunk.to_vec());
        tasks.spawn(async move {
            for record in &chunk {
                queue.enqueue(record).await.expect("enqueue");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("enqueue task");
    }
    assert_eq!(queue.stats().await.unwrap().depth, RECORDS as u64);

    // A consumer takes 100 entries and dies without acknowledging them.
    let orphaned = queue.read("dead", 100, Duration::ZERO).await.unwrap();
    assert_eq!(orphaned.len(), 100);

    let permanent = CountingStore::new(db.store.tokens());
    let config = WorkerConfig {
        batch_size: 200,
        min_idle: Duration::from_secs(2),
        ..WorkerConfig::default()
    };
    let w1 = Arc::new(WriteBehindWorker::new(
        queue.clone(),
        permanent.clone(),
        config.clone(),
    ));
    let w2 = Arc::new(WriteBehindWorker::new(
        queue.clone(),
        permanent.clone(),
        config,
    ));
    // Let the orphans age past min_idle while the workers start on the rest.
    let deadline = Instant::now() + Duration::from_secs(180);
    let (a, b) = tokio::join!(
        tokio::spawn(drive(w1, "w1", deadline)),
        tokio::spawn(drive(w2, "w2", deadline)),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    // A worker may find the queue empty before the orphans are reclaimable: finish them.
    let mut late = WorkerReport::default();
    while queue.stats().await.unwrap().pending > 0 {
        assert!(Instant::now() < deadline, "orphans never reclaimed");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let worker = WriteBehindWorker::new(
            queue.clone(),
            permanent.clone(),
            WorkerConfig {
                min_idle: Duration::from_secs(2),
                ..WorkerConfig::default()
            },
        );
        let r = worker.run_once("w1").await.unwrap();
        late.written += r.written;
        late.reclaimed += r.reclaimed;
    }
    eprintln!("w1: {a:?}\nw2: {b:?}\nlate: {late:?}");
    assert_eq!(a.written + b.written + late.written, RECORDS);
    assert_eq!(
        a.reclaimed + b.reclaimed + late.reclaimed,
        100,
        "the orphans were taken over"
    );
    assert!(a.written > 0 && b.written > 0, "both workers took part");

    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending, stats.dead_letters), (0, 0, 0));

    let tokens = db.raw.collection::<Document>("tokens");
    let count = tokens.count_documents(doc! {}).await.unwrap();
    assert_eq!(count, RECORDS as u64, "every record once in MongoDB");
    let stored: BTreeSet<String> = tokens
        .distinct("_id", doc! {})
        .await
        .unwrap()
        .into_iter()
        .map(|id| id.as_str().expect("string ids").to_owned())
        .collect();
    let expected: BTreeSet<String> = records.iter().map(|r| r.id().as_str().to_owned()).collect();
    assert_eq!(stored, expected, "exactly the enqueued ids");
    for record in records.iter().step_by(97) {
        assert_eq!(
            db.store.tokens().get(record.id()).await.unwrap().as_ref(),
            Some(record),
            "stored unchanged"
        );
    }
    let submitted = permanent.writes();
    assert_eq!(submitted.len(), RECORDS);
    assert!(
        submitted.values().all(|&n| n == 1),
        "no record was handed to MongoDB twice"
    );
}

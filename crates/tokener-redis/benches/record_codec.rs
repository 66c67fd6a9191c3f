//! What the write-behind stream's JSON costs: encoding a record (on the request path, once per
//! token) and decoding it (in the worker, once per entry read), alone and for a full group
//! commit batch.
//!
//! ```text
//! cargo bench -p tokener-redis --bench record_codec -- --warm-up-time 1 --measurement-time 3
//! ```

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tokener_core::contract::sample_record;
use tokener_core::{GroupLimits, TokenRecord};
use tokener_redis::codec::{decode_record, encode_record};

fn record_codec(c: &mut Criterion) {
    let record = sample_record("billing", 4_000_000_000);
    let payload = encode_record(&record).expect("encodes");
    let batch: Vec<TokenRecord> = (0..GroupLimits::default().max_batch)
        .map(|_| sample_record("billing", 4_000_000_000))
        .collect();
    let payloads: Vec<Vec<u8>> = batch
        .iter()
        .map(|r| encode_record(r).expect("encodes"))
        .collect();

    let mut group = c.benchmark_group("record_codec");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode", |b| {
        b.iter(|| encode_record(black_box(&record)).expect("encodes"))
    });
    group.bench_function("decode", |b| {
        b.iter(|| decode_record(black_box(&payload)).expect("decodes"))
    });
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function(format!("encode_batch/{}", batch.len()), |b| {
        b.iter(|| {
            black_box(&batch)
                .iter()
                .map(|r| encode_record(r).expect("encodes"))
                .collect::<Vec<_>>()
        })
    });
    group.bench_function(format!("decode_batch/{}", batch.len()), |b| {
        b.iter(|| {
            black_box(&payloads)
                .iter()
                .map(|p| decode_record(p).expect("decodes"))
                .collect::<Vec<_>>()
        })
    });
    group.finish();
}

criterion_group!(benches, record_codec);
criterion_main!(benches);

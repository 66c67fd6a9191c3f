//! The queue's partitions as the port sees them: which partition a batch goes to, where a
//! read starts, and entry ids that name their partition.

use crate::errors::malformed;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokener_core::{EntryId, StoreError, TokenId};

/// How long appends avoid a partition whose append failed: about a cluster's failover (node
/// timeout plus election), so that while one primary is replaced the batches go to the
/// others instead of each waiting out the command timeout on it.
pub(crate) const AVOID_FAILED_FOR: Duration = Duration::from_secs(5);

pub(crate) struct Partitions {
    count: usize,
    /// Where the next read pass starts, so that no partition is always read last.
    next_start: AtomicUsize,
    /// Per partition: until when appends avoid it (milliseconds since `epoch`; 0: never).
    avoid_until: Vec<AtomicU64>,
    epoch: Instant,
}

impl Partitions {
    pub(crate) fn new(count: usize) -> Self {
        let count = count.max(1);
        Self {
            count,
            next_start: AtomicUsize::new(0),
            avoid_until: (0..count).map(|_| AtomicU64::new(0)).collect(),
            epoch: Instant::now(),
        }
    }

    fn now_millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Appends avoid `partition` for [`AVOID_FAILED_FOR`] (its append just failed).
    pub(crate) fn avoid(&self, partition: usize) {
        let until = self.now_millis() + AVOID_FAILED_FOR.as_millis() as u64;
        self.avoid_until[partition].store(until.max(1), Ordering::Relaxed);
    }

    /// The partition a batch starting with `first` goes to: its token's, or the next one not
    /// avoided when that one is (the token's own when every partition is).
    pub(crate) fn for_append(&self, first: &TokenId) -> usize {
        let own = self.of_token(first);
        let now = self.now_millis();
        (0..self.count)
            .map(|i| (own + i) % self.count)
            .find(|&p| self.avoid_until[p].load(Ordering::Relaxed) <= now)
            .unwrap_or(own)
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// The partition of a batch whose first record has this token id: a stable hash (FNV-1a),
    /// so the spread does not depend on the instance. Token ids are random, so batches spread
    /// evenly.
    pub(crate) fn of_token(&self, id: &TokenId) -> usize {
        let hash = id.as_str().bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        (hash % self.count as u64) as usize
    }

    /// Every partition once, starting from a different one each call.
    pub(crate) fn pass(&self) -> impl Iterator<Item = usize> + '_ {
        let start = self.next_start.fetch_add(1, Ordering::Relaxed);
        (0..self.count).map(move |i| (start + i) % self.count)
    }

    /// The port's id of stream entry `raw` of `partition`: the stream id itself when there is
    /// one partition (ids stay what they always were), `{partition}/{stream id}` otherwise.
    pub(crate) fn entry_id(&self, partition: usize, raw: String) -> EntryId {
        if self.count == 1 {
            EntryId::new(raw)
        } else {
            EntryId::new(format!("{partition}/{raw}"))
        }
    }

    /// The partition and stream id an entry id names.
    pub(crate) fn split<'a>(&self, entry: &'a EntryId) -> Result<(usize, &'a str), StoreError> {
        if self.count == 1 {
            return Ok((0, entry.as_str()));
        }
        entry
            .as_str()
            .split_once('/')
            .and_then(|(p, raw)| Some((p.parse::<usize>().ok()?, raw)))
            .filter(|(p, _)| *p < self.count)
            .ok_or_else(|| malformed("entry id", "names no partition of this queue"))
    }

    /// Stream ids by partition.
    pub(crate) fn group<'a>(
        &self,
        entries: &'a [EntryId],
    ) -> Result<BTreeMap<usize, Vec<&'a str>>, StoreError> {
        let mut groups: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for entry in entries {
            let (partition, raw) = self.split(entry)?;
            groups.entry(partition).or_default().push(raw);
        }
        Ok(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_partition_keeps_stream_ids_as_they_are() {
        let one = Partitions::new(1);
        let id = one.entry_id(0, "1-0".into());
        assert_eq!(id.as_str(), "1-0");
        assert_eq!(one.split(&id).unwrap(), (0, "1-0"));
    }

    #[test]
    fn entry_ids_name_their_partition_and_are_checked() {
        let four = Partitions::new(4);
        let id = four.entry_id(3, "5-1".into());
        assert_eq!(id.as_str(), "3/5-1");
        assert_eq!(four.split(&id).unwrap(), (3, "5-1"));
        assert!(four.split(&EntryId::new("5-1")).is_err());
        assert!(
            four.split(&EntryId::new("4/5-1")).is_err(),
            "no such partition"
        );
        let entries = [id.clone(), four.entry_id(0, "7-0".into()), id];
        let grouped = four.group(&entries).unwrap();
        assert_eq!(grouped[&3], vec!["5-1", "5-1"]);
        assert_eq!(grouped[&0], vec!["7-0"]);
    }

    #[test]
    fn batches_spread_over_every_partition_and_passes_visit_each_once() {
        let sixteen = Partitions::new(16);
        let mut seen = [0u32; 16];
        for i in 0..1600 {
            let spread = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let id: TokenId = format!("{spread:0128x}").parse().unwrap();
            seen[sixteen.of_token(&id)] += 1;
        }
        assert!(seen.iter().all(|&n| (50..=150).contains(&n)), "{seen:?}");
        let first: Vec<usize> = sixteen.pass().collect();
        let second: Vec<usize> = sixteen.pass().collect();
        assert_eq!(
            first
                .iter()
                .copied()
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            16
        );
        assert_ne!(first[0], second[0], "passes start at different partitions");
    }

    #[test]
    fn appends_avoid_a_failed_partition_while_others_are_fine() {
        let three = Partitions::new(3);
        let id: TokenId = "ab".repeat(64).parse().unwrap();
        let own = three.for_append(&id);
        assert_eq!(own, three.of_token(&id));
        three.avoid(own);
        assert_eq!(three.for_append(&id), (own + 1) % 3, "the next one");
        three.avoid((own + 1) % 3);
        three.avoid((own + 2) % 3);
        assert_eq!(three.for_append(&id), own, "all avoided: its own");
    }
}

//! The revocation state: every unexpired revocation (token ids and client-wide entries), held
//! in process. One type serves the server (introspection, admin checks, the feed it publishes)
//! and every verifier (`tokener-verify`, `tokener guard`); the server fills it from its store
//! with [`RevocationSync`], a verifier from the feed.
//!
//! Reads are lock-free (an `ArcSwap` of a persistent snapshot), so checking a token costs two
//! hash lookups and no contention; writers copy the snapshot in O(log n) per change.

use crate::domain::{
    ClientId, ClientRevocation, FeedCursor, RevocationEntry, Timestamp, TokenClaims, TokenId,
};
use crate::ports::{RevocationCursor, StoreError, TokenStore};
use arc_swap::ArcSwap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// How often expired entries are swept out (they stop mattering at expiry either way).
const PRUNE_EVERY_MILLIS: u64 = 10_000;

#[derive(Clone, Default)]
struct Snapshot {
    tokens: imbl::HashMap<TokenId, Timestamp>,
    clients: imbl::HashMap<ClientId, ClientRevocation>,
    feed: imbl::OrdMap<FeedCursor, RevocationEntry>,
}

/// Every unexpired revocation known here. Share it as `Arc<RevocationState>`.
pub struct RevocationState {
    snapshot: ArcSwap<Snapshot>,
    /// Serializes writers; readers never take it.
    writer: Mutex<WriterState>,
    /// Milliseconds of the last confirmation by the source that this state is current (0: never).
    synced_at: AtomicU64,
    changes: tokio::sync::watch::Sender<u64>,
    /// The times (milliseconds) of revocations this instance is writing to its store, with how
    /// many carry each: a write can become visible after a later-stamped one, so the feed must
    /// not pass the oldest (see `feed_watermark`).
    writing: Mutex<std::collections::BTreeMap<u64, usize>>,
}

#[derive(Default)]
struct WriterState {
    last_prune: Timestamp,
}

impl Default for RevocationState {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for RevocationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationState")
            .field("entries", &self.len())
            .field("synced_at", &self.synced_at())
            .finish()
    }
}

impl RevocationState {
    pub fn new() -> Self {
        Self {
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            writer: Mutex::new(WriterState::default()),
            synced_at: AtomicU64::new(0),
            changes: tokio::sync::watch::channel(0).0,
            writing: Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    /// Marks a revocation carrying `at` as being written to the store until the guard is
    /// dropped (after the write, and after it was applied here).
    pub fn writing(&self, at: Timestamp) -> Writing<'_> {
        *self.writing_lock().entry(at.unix_millis()).or_insert(0) += 1;
        Writing { state: self, at }
    }

    /// The time of the oldest revocation still being written, if any.
    pub fn oldest_writing(&self) -> Option<Timestamp> {
        self.writing_lock()
            .keys()
            .next()
            .map(|&millis| Timestamp::from_unix_millis(millis))
    }

    fn writing_lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<u64, usize>> {
        self.writing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds entries and returns how many were new. Idempotent: a token already held keeps its
    /// first revocation; a client entry replaces an older one only if it covers more. Entries
    /// expired at `now` are ignored, and held ones swept out now and then.
    pub fn apply(
        &self,
        entries: impl IntoIterator<Item = RevocationEntry>,
        now: Timestamp,
    ) -> usize {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = Snapshot::clone(&self.snapshot.load());
        let mut added = 0;
        for entry in entries {
            if entry.expires_at() < now {
                continue;
            }
            match &entry {
                RevocationEntry::Token(r) => {
                    if next.tokens.contains_key(&r.token_id) {
                        continue;
                    }
                    next.tokens.insert(r.token_id.clone(), r.expires_at);
                }
                RevocationEntry::Client(r) => {
                    if let Some(held) = next.clients.get(&r.client_id) {
                        if held.issued_before >= r.issued_before {
                            continue;
                        }
                        next.feed
                            .remove(&RevocationEntry::Client(held.clone()).cursor());
                    }
                    next.clients.insert(r.client_id.clone(), r.clone());
                }
            }
            next.feed.insert(entry.cursor(), entry);
            added += 1;
        }
        let pruned = if now.unix_millis() >= writer.last_prune.unix_millis() + PRUNE_EVERY_MILLIS {
            writer.last_prune = now;
            prune(&mut next, now)
        } else {
            0
        };
        if added > 0 || pruned > 0 {
            self.snapshot.store(Arc::new(next));
        }
        if added > 0 {
            self.changes.send_modify(|version| *version += 1);
        }
        added
    }

    /// Whether the token is revoked: its id, or a client-wide entry covering its issue time.
    pub fn is_revoked(&self, claims: &TokenClaims) -> bool {
        let snapshot = self.snapshot.load();
        snapshot.tokens.contains_key(&claims.token_id)
            || snapshot
                .clients
                .get(&claims.client_id)
                .is_some_and(|r| r.covers(claims))
    }

    /// Whether this token id is revoked (client-wide entries aside).
    pub fn is_token_revoked(&self, id: &TokenId) -> bool {
        self.snapshot.load().tokens.contains_key(id)
    }

    /// The client-wide entry of this client, if any.
    pub fn client_revocation(&self, id: &ClientId) -> Option<ClientRevocation> {
        self.snapshot.load().clients.get(id).cloned()
    }

    /// When a token for `client` minted at `now` should say it was issued: `now`, or the end of
    /// a client-wide revocation that reaches past `now` (it covers the rest of its second, and
    /// the time other instances may still reuse the client record), so a token minted after the
    /// revocation is not covered by it.
    pub fn issue_time(&self, client: &ClientId, now: Timestamp) -> Timestamp {
        match self.client_revocation(client) {
            Some(r) if r.issued_before > now => r.issued_before,
            _ => now,
        }
    }

    /// Entries after `after` (from the start if `None`) revoked no later than `until`, in feed
    /// order, at most `limit`.
    pub fn entries_after(
        &self,
        after: Option<&FeedCursor>,
        until: Timestamp,
        limit: usize,
    ) -> Vec<RevocationEntry> {
        let snapshot = self.snapshot.load();
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        snapshot
            .feed
            .range((lower, Bound::Unbounded))
            .map(|(_, entry)| entry)
            .take_while(|entry| entry.revoked_at() <= until)
            .take(limit)
            .cloned()
            .collect()
    }

    /// Records that the source confirmed this state current as of `at`.
    pub fn mark_synced(&self, at: Timestamp) {
        self.synced_at.fetch_max(at.unix_millis(), Ordering::AcqRel);
    }

    /// When the source last confirmed this state current; `None` before the first time.
    pub fn synced_at(&self) -> Option<Timestamp> {
        match self.synced_at.load(Ordering::Acquire) {
            0 => None,
            millis => Some(Timestamp::from_unix_millis(millis)),
        }
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.snapshot.load().feed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A receiver that sees a new value whenever entries are added (for pushing the feed).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

fn prune(snapshot: &mut Snapshot, now: Timestamp) -> usize {
    let expired: Vec<FeedCursor> = snapshot
        .feed
        .iter()
        .filter(|(_, entry)| entry.expires_at() < now)
        .map(|(cursor, _)| cursor.clone())
        .collect();
    for cursor in &expired {
        match snapshot.feed.remove(cursor) {
            Some(RevocationEntry::Token(r)) => {
                snapshot.tokens.remove(&r.token_id);
            }
            Some(RevocationEntry::Client(r)) => {
                snapshot.clients.remove(&r.client_id);
            }
            None => {}
        }
    }
    expired.len()
}

/// A revocation being written; see [`RevocationState::writing`].
pub struct Writing<'a> {
    state: &'a RevocationState,
    at: Timestamp,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let mut writing = self.state.writing_lock();
        let millis = self.at.unix_millis();
        if let Some(count) = writing.get_mut(&millis) {
            *count -= 1;
            if *count == 0 {
                writing.remove(&millis);
            }
        }
    }
}

/// How far back each poll of the store reads again: a revocation written by another instance
/// carries the time it was made, and may become visible a little after a later one did.
pub const SYNC_OVERLAP_MILLIS: u64 = 5_000;

/// How long a revocation waits before the feed hands it out, so entries appear in cursor order
/// and a client resuming from a cursor misses none: a revocation becomes visible in the store
/// within this long of the time it carries (write latency plus clock skew between instances).
pub const FEED_SETTLE_MILLIS: u64 = 300;

/// The page size of store reads.
const PAGE: usize = 1000;

/// Keeps a [`RevocationState`] within one poll of a [`TokenStore`]: the server's side.
pub struct RevocationSync {
    state: Arc<RevocationState>,
    /// Where the next poll starts reading (the start of the previous poll, less the overlap).
    next_from: Mutex<Option<Timestamp>>,
}

impl RevocationSync {
    pub fn new(state: Arc<RevocationState>) -> Self {
        Self {
            state,
            next_from: Mutex::new(None),
        }
    }

    pub fn state(&self) -> &Arc<RevocationState> {
        &self.state
    }

    /// Reads what the store holds since the previous poll (everything, the first time), adds it
    /// to the state, and marks the state synced as of `now` (the time this poll started).
    /// Returns how many entries were new.
    pub async fn poll<S: TokenStore>(
        &self,
        store: &S,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let from = *self
            .next_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut added = 0;
        let mut after = from.map(|t| RevocationCursor {
            // Strictly after (t - 1 ms, the largest id): everything revoked at or after t.
            revoked_at: t.minus_millis(1),
            token_id: largest_token_id(),
        });
        loop {
            let page = store.revocations(after.clone(), PAGE).await?;
            let full = page.len() == PAGE;
            after = page.last().map(|r| RevocationCursor {
                revoked_at: r.revoked_at,
                token_id: r.token_id.clone(),
            });
            added += self
                .state
                .apply(page.into_iter().map(RevocationEntry::Token), now);
            if !full {
                break;
            }
        }
        let since = from.unwrap_or_default();
        let clients = store.client_revocations(since).await?;
        added += self
            .state
            .apply(clients.into_iter().map(RevocationEntry::Client), now);
        self.state.mark_synced(now);
        *self
            .next_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(now.minus_millis(SYNC_OVERLAP_MILLIS));
        Ok(added)
    }
}

fn largest_token_id() -> TokenId {
    // 128 hex digits of `f` is a valid id, and no id sorts after it.
    TokenId::parse("f".repeat(TokenId::HEX_LEN)).unwrap_or_else(|_| unreachable!())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{KeyId, Revocation};
    use std::collections::BTreeSet;

    const T: u64 = 1_800_000_000;

    fn id(n: u8) -> TokenId {
        TokenId::parse(format!("{n:02x}").repeat(64)).unwrap()
    }

    fn claims(token: u8, client: &str, issued_at: u64) -> TokenClaims {
        TokenClaims {
            token_id: id(token),
            client_id: ClientId::parse(client).unwrap(),
            audiences: BTreeSet::new(),
            scopes: BTreeSet::new(),
            issued_at: Timestamp::from_unix(issued_at),
            expires_at: Timestamp::from_unix(issued_at + 3600),
            key_id: KeyId(1),
        }
    }

    fn token(n: u8, at_millis: u64, expires: u64) -> RevocationEntry {
        RevocationEntry::Token(Revocation {
            token_id: id(n),
            revoked_at: Timestamp::from_unix_millis(at_millis),
            expires_at: Timestamp::from_unix(expires),
        })
    }

    #[test]
    fn tokens_and_clients_are_revoked_idempotently() {
        let state = RevocationState::new();
        let now = Timestamp::from_unix(T);
        assert!(!state.is_revoked(&claims(1, "billing", T - 10)));
        assert_eq!(state.apply([token(1, T * 1000, T + 60)], now), 1);
        assert_eq!(
            state.apply([token(1, T * 1000 + 5, T + 60)], now),
            0,
            "first stands"
        );
        assert!(state.is_revoked(&claims(1, "billing", T - 10)));
        let client = ClientRevocation::at(ClientId::parse("billing").unwrap(), now, 3600);
        assert_eq!(
            state.apply([RevocationEntry::Client(client.clone())], now),
            1
        );
        assert!(
            state.is_revoked(&claims(2, "billing", T)),
            "same second is covered"
        );
        assert!(!state.is_revoked(&claims(2, "billing", T + 1)));
        assert!(!state.is_revoked(&claims(2, "shipping", T - 10)));
        // An older client entry changes nothing; a wider one replaces it in the feed too.
        let older = ClientRevocation::at(
            ClientId::parse("billing").unwrap(),
            now.minus_millis(5000),
            3600,
        );
        assert_eq!(state.apply([RevocationEntry::Client(older)], now), 0);
        let wider =
            ClientRevocation::at(ClientId::parse("billing").unwrap(), now.plus_secs(3), 3600);
        assert_eq!(state.apply([RevocationEntry::Client(wider)], now), 1);
        assert_eq!(state.len(), 2);
        assert!(state.is_revoked(&claims(2, "billing", T + 3)));
    }

    #[test]
    fn the_feed_is_ordered_bounded_and_resumable() {
        let state = RevocationState::new();
        let now = Timestamp::from_unix(T);
        // Applied out of order, as polls of several instances' revocations may bring them.
        state.apply(
            [
                token(3, T * 1000 + 30, T + 60),
                token(1, T * 1000 + 10, T + 60),
            ],
            now,
        );
        state.apply([token(2, T * 1000 + 20, T + 60)], now);
        let all = state.entries_after(None, Timestamp::from_unix(T + 1), 10);
        let cursors: Vec<FeedCursor> = all.iter().map(RevocationEntry::cursor).collect();
        let mut sorted = cursors.clone();
        sorted.sort();
        assert_eq!(cursors, sorted);
        assert_eq!(all.len(), 3);
        let rest = state.entries_after(Some(&cursors[0]), Timestamp::from_unix(T + 1), 10);
        assert_eq!(rest, all[1..]);
        // Not yet settled: revoked after `until`.
        let settled = state.entries_after(None, Timestamp::from_unix_millis(T * 1000 + 20), 10);
        assert_eq!(settled, all[..2]);
        assert_eq!(
            state.entries_after(None, Timestamp::from_unix(T + 1), 1),
            all[..1]
        );
    }

    #[test]
    fn expired_entries_are_ignored_and_swept() {
        let state = RevocationState::new();
        let now = Timestamp::from_unix(T);
        assert_eq!(
            state.apply([token(1, T * 1000, T - 1)], now),
            0,
            "already expired"
        );
        state.apply([token(2, T * 1000, T + 5)], now);
        assert_eq!(state.len(), 1);
        let later = now.plus_secs(60);
        state.apply([], later);
        assert_eq!(state.len(), 0, "swept once expired");
        assert!(!state.is_token_revoked(&id(2)));
    }

    #[test]
    fn issue_time_steps_past_a_cut_off_that_reaches_past_now() {
        let state = RevocationState::new();
        let client = ClientId::parse("billing").unwrap();
        let now = Timestamp::from_unix_millis(T * 1000 + 400);
        assert_eq!(state.issue_time(&client, now), now);
        let r = ClientRevocation::covering(client.clone(), now, 1, 3600);
        state.apply([RevocationEntry::Client(r.clone())], now);
        assert_eq!(state.issue_time(&client, now), r.issued_before);
        assert_eq!(
            state.issue_time(&client, now.plus_secs(5)),
            now.plus_secs(5)
        );
    }

    #[test]
    fn synced_at_only_moves_forward() {
        let state = RevocationState::new();
        assert_eq!(state.synced_at(), None);
        state.mark_synced(Timestamp::from_unix(T));
        state.mark_synced(Timestamp::from_unix(T - 5));
        assert_eq!(state.synced_at(), Some(Timestamp::from_unix(T)));
    }
}

//! Live delivery to open event streams. One reader per instance follows the feed (woken
//! in-process by writes, across instances by the PostgreSQL listener, else every second) and
//! hands each new entry from memory to the open phone streams of its user and the open boards of
//! its region: the database sees the same few reads whether ten streams are open or ten
//! thousand.
//!
//! Entries are handed out in sequence order. On PostgreSQL a transaction can commit a later
//! sequence number before an earlier one; the reader then waits up to [`GAP_WINDOW`] for the
//! missing one, so a stream's event ids only grow and `Last-Event-ID` replay stays exact. A hole
//! that outlasts the window (as a rule a rolled-back write) is passed over but watched for
//! [`LATE_HORIZON`]: if its entry commits after all, the open streams still get it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};

use crate::clock::SharedClock;
use crate::db::{Db, DbError};
use crate::domain::RegionScope;
use crate::store::dialect;
use crate::store::feed::{self, FeedRow};
use crate::store::users::{self, SessionState};

/// How long the reader waits for a missing sequence number before passing over it.
pub const GAP_WINDOW: Duration = Duration::from_secs(1);
/// How long a passed-over sequence number is still looked for.
pub const LATE_HORIZON: Duration = Duration::from_secs(60);
/// Streams of each kind (phone, board) one user may hold open at once on an instance (a phone
/// and a tablet, two console tabs, a reconnect racing the old connection's close).
pub const MAX_STREAMS_PER_USER: usize = 3;

/// How often an idle reader looks at the feed without being woken.
const POLL: Duration = Duration::from_secs(1);
/// How often it looks while it waits for a missing sequence number.
const GAP_POLL: Duration = Duration::from_millis(25);
/// How often the open streams' sessions and token expiries are checked.
const SESSION_CHECK: Duration = Duration::from_secs(2);
/// Entries read at once.
const BATCH: i64 = 500;
/// Users whose sessions are read in one query.
const SESSION_CHUNK: usize = 5_000;
/// Entries a stream may fall behind by before it is closed (the app reconnects and replays
/// from the database).
const BUFFER: usize = 256;
/// Holes watched at most (a large rolled-back batch is not worth following entry by entry).
const MAX_WATCHED: usize = 10_000;

/// Which fetched entries may be handed out now: the reader's memory of holes in the sequence.
#[derive(Debug)]
pub struct Order {
    /// Every sequence number up to here was handed out or passed over.
    published: i64,
    /// The hole right after `published`, while the reader waits for it.
    gap: Option<Gap>,
    /// Passed-over sequence numbers, with when they were passed over.
    watched: BTreeMap<i64, Instant>,
}

#[derive(Debug)]
struct Gap {
    /// The missing sequence number.
    at: i64,
    since: Instant,
    /// On PostgreSQL, the transactions in progress when the hole was seen that are still in
    /// progress: the writer of the missing entry is among them, if it has not ended.
    waiting_on: Option<Vec<u64>>,
}

/// The entries that may be handed out now, and whether a hole holds back the rest.
#[derive(Debug, PartialEq)]
pub struct Take<T> {
    pub ready: Vec<T>,
    pub waiting: bool,
}

impl Order {
    pub fn starting_at(published: i64) -> Self {
        Order {
            published,
            gap: None,
            watched: BTreeMap::new(),
        }
    }

    pub fn published(&self) -> i64 {
        self.published
    }

    /// `rows` are entries after [`Self::published`], in sequence order, read in a snapshot whose
    /// in-progress transactions are `in_progress` (PostgreSQL; None where commits cannot come
    /// out of order, or unknown).
    ///
    /// A writer takes its sequence number after its transaction has begun writing (the ticket's
    /// timeline row comes first), so while a later entry is visible and an earlier one is not,
    /// the earlier one's transaction is in progress in that snapshot, or ended without it. Once
    /// every transaction in progress when the hole was first seen has ended, the hole is final.
    pub fn take<T>(
        &mut self,
        rows: Vec<T>,
        seq: impl Fn(&T) -> i64,
        now: Instant,
        in_progress: Option<&[u64]>,
    ) -> Take<T> {
        let mut ready = Vec::new();
        for row in rows {
            let s = seq(&row);
            if s <= self.published {
                continue;
            }
            let missing = self.published + 1;
            if s > missing {
                let gap = match self.gap.take() {
                    Some(g) if g.at == missing => g,
                    _ => Gap {
                        at: missing,
                        since: now,
                        waiting_on: in_progress.map(<[u64]>::to_vec),
                    },
                };
                let waiting_on = match (gap.waiting_on, in_progress) {
                    (Some(w), Some(now_running)) => {
                        Some(w.into_iter().filter(|x| now_running.contains(x)).collect())
                    }
                    (w, _) => w,
                };
                let ended = waiting_on.as_ref().is_some_and(Vec::is_empty);
                if !ended && now.duration_since(gap.since) < GAP_WINDOW {
                    self.gap = Some(Gap { waiting_on, ..gap });
                    return Take {
                        ready,
                        waiting: true,
                    };
                }
                if !ended {
                    let room = MAX_WATCHED.saturating_sub(self.watched.len());
                    for m in (missing..s).take(room) {
                        self.watched.insert(m, now);
                    }
                }
            }
            self.gap = None;
            self.published = s;
            ready.push(row);
        }
        Take {
            ready,
            waiting: false,
        }
    }

    /// The passed-over sequence numbers still looked for at `now`.
    pub fn watched(&mut self, now: Instant) -> Vec<i64> {
        self.watched
            .retain(|_, at| now.duration_since(*at) < LATE_HORIZON);
        self.watched.keys().copied().collect()
    }

    /// Of entries found among the watched numbers, those not handed out yet (each only once).
    pub fn late<T>(&mut self, rows: Vec<T>, seq: impl Fn(&T) -> i64) -> Vec<T> {
        rows.into_iter()
            .filter(|r| self.watched.remove(&seq(r)).is_some())
            .collect()
    }
}

/// The per-instance hub between the feed and the open streams.
pub struct FeedHub {
    db: Db,
    clock: SharedClock,
    wake: Notify,
    inner: Mutex<Inner>,
    /// Reads of the feed so far.
    reads: std::sync::atomic::AtomicU64,
}

struct Inner {
    /// Every entry up to here has reached the streams open at the time.
    published: i64,
    /// Phone streams by user.
    phones: HashMap<String, Vec<Listener>>,
    /// Boards by region (None: an admin's board of every region). A board of several regions
    /// is listed under each.
    boards: HashMap<Option<String>, Vec<Listener>>,
    next_id: u64,
}

#[derive(Clone)]
struct Listener {
    id: u64,
    /// The signed-in user holding the stream.
    user_id: String,
    tx: mpsc::Sender<Arc<FeedRow>>,
    /// The session version of the token that opened the stream, and its expiry (Unix seconds).
    session: i32,
    expires: i64,
}

/// Where a subscription is listed.
enum Place {
    Phone(String),
    Board(Vec<Option<String>>),
}

/// An open stream's place at the hub; leaving it (dropping) frees the place.
pub struct Subscription {
    hub: Arc<FeedHub>,
    place: Place,
    id: u64,
    /// Entries after this sequence number arrive through [`Self::rx`]; earlier ones are read
    /// from the database.
    pub from: i64,
    /// Closed when the stream must end: its token expired, its session ended, or it fell too
    /// far behind.
    pub rx: mpsc::Receiver<Arc<FeedRow>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut inner = self.hub.lock();
        let id = self.id;
        match &self.place {
            Place::Phone(user) => leave(&mut inner.phones, user, id),
            Place::Board(regions) => {
                for r in regions {
                    leave(&mut inner.boards, r, id);
                }
            }
        }
    }
}

fn leave<K: std::hash::Hash + Eq + Clone>(lists: &mut HashMap<K, Vec<Listener>>, key: &K, id: u64) {
    if let Some(list) = lists.get_mut(key) {
        list.retain(|l| l.id != id);
        if list.is_empty() {
            lists.remove(key);
        }
    }
}

impl FeedHub {
    /// A hub whose reader starts after `published` (the newest entry when the instance starts).
    pub fn new(db: Db, clock: SharedClock, published: i64) -> Arc<Self> {
        Arc::new(FeedHub {
            db,
            clock,
            wake: Notify::new(),
            reads: Default::default(),
            inner: Mutex::new(Inner {
                published,
                phones: HashMap::new(),
                boards: HashMap::new(),
                next_id: 0,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A write may have added entries: the reader looks now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// How many times the reader has read the feed: a read that began after a write has seen
    /// it once this has grown by two.
    pub fn reads(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Streams open on this instance (phones and boards).
    pub fn open_streams(&self) -> usize {
        let inner = self.lock();
        let boards: std::collections::HashSet<u64> =
            inner.boards.values().flatten().map(|l| l.id).collect();
        inner.phones.values().map(Vec::len).sum::<usize>() + boards.len()
    }

    /// Opens a place for a phone stream of `user_id` under a token of session version `session`
    /// expiring at `expires` (Unix seconds). None: the user has [`MAX_STREAMS_PER_USER`] open.
    pub fn subscribe(
        self: &Arc<Self>,
        user_id: &str,
        session: i32,
        expires: i64,
    ) -> Option<Subscription> {
        let (tx, rx) = mpsc::channel(BUFFER);
        let mut inner = self.lock();
        let from = inner.published;
        inner.next_id += 1;
        let id = inner.next_id;
        let list = inner.phones.entry(user_id.to_string()).or_default();
        if list.len() >= MAX_STREAMS_PER_USER {
            return None;
        }
        list.push(Listener {
            id,
            user_id: user_id.to_string(),
            tx,
            session,
            expires,
        });
        Some(Subscription {
            hub: self.clone(),
            place: Place::Phone(user_id.to_string()),
            id,
            from,
            rx,
        })
    }

    /// Opens a place for a board of `user_id` over `scope`'s regions, as
    /// [`subscribe`](Self::subscribe) does for a phone.
    pub fn subscribe_board(
        self: &Arc<Self>,
        user_id: &str,
        scope: &RegionScope,
        session: i32,
        expires: i64,
    ) -> Option<Subscription> {
        let regions: Vec<Option<String>> = match scope {
            RegionScope::All => vec![None],
            RegionScope::Only(ids) => ids.iter().cloned().map(Some).collect(),
        };
        let (tx, rx) = mpsc::channel(BUFFER);
        let mut inner = self.lock();
        let open: std::collections::HashSet<u64> = inner
            .boards
            .values()
            .flatten()
            .filter(|l| l.user_id == user_id)
            .map(|l| l.id)
            .collect();
        if open.len() >= MAX_STREAMS_PER_USER {
            return None;
        }
        let from = inner.published;
        inner.next_id += 1;
        let listener = Listener {
            id: inner.next_id,
            user_id: user_id.to_string(),
            tx,
            session,
            expires,
        };
        for r in &regions {
            inner
                .boards
                .entry(r.clone())
                .or_default()
                .push(listener.clone());
        }
        Some(Subscription {
            hub: self.clone(),
            place: Place::Board(regions),
            id: listener.id,
            from,
            rx,
        })
    }

    /// Hands `rows` to the open phone streams of their users and the boards of their regions;
    /// a stream that cannot keep up is closed.
    fn hand_out(&self, rows: Vec<FeedRow>, published: i64) {
        let mut inner = self.lock();
        let mut behind = Vec::new();
        for row in rows {
            let row = Arc::new(row);
            if let Some(list) = row.user_id.as_ref().and_then(|u| inner.phones.get_mut(u)) {
                list.retain(|l| l.tx.try_send(row.clone()).is_ok());
            }
            for key in [Some(row.region_id.clone()), None] {
                if let Some(list) = inner.boards.get_mut(&key) {
                    list.retain(|l| {
                        let kept = l.tx.try_send(row.clone()).is_ok();
                        if !kept {
                            behind.push(l.id);
                        }
                        kept
                    });
                }
            }
        }
        // A board that fell behind leaves every region it listens to, so its stream ends.
        if !behind.is_empty() {
            for list in inner.boards.values_mut() {
                list.retain(|l| !behind.contains(&l.id));
            }
        }
        inner.phones.retain(|_, list| !list.is_empty());
        inner.boards.retain(|_, list| !list.is_empty());
        inner.published = inner.published.max(published);
    }

    /// Closes the streams whose token expired or whose session ended.
    async fn check_sessions(&self) -> Result<(), DbError> {
        let now = self.clock.now().timestamp();
        let users: Vec<String> = {
            let mut inner = self.lock();
            let inner = &mut *inner;
            for list in inner.phones.values_mut().chain(inner.boards.values_mut()) {
                list.retain(|l| l.expires > now);
            }
            inner.phones.retain(|_, list| !list.is_empty());
            inner.boards.retain(|_, list| !list.is_empty());
            let mut users: std::collections::HashSet<String> =
                inner.phones.keys().cloned().collect();
            users.extend(inner.boards.values().flatten().map(|l| l.user_id.clone()));
            users.into_iter().collect()
        };
        let looked_up: std::collections::HashSet<&str> = users.iter().map(String::as_str).collect();
        let mut states: HashMap<String, SessionState> = HashMap::new();
        for chunk in users.chunks(SESSION_CHUNK) {
            let ids = chunk.to_vec();
            let found = self
                .db
                .read(move |conn| {
                    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                    Ok::<_, DbError>(users::session_states(conn, &ids)?)
                })
                .await?;
            states.extend(found);
        }
        let mut inner = self.lock();
        let inner = &mut *inner;
        for list in inner.phones.values_mut().chain(inner.boards.values_mut()) {
            // A user that was looked up holds only streams of its current, active session; one
            // that subscribed after the lookup is checked next time.
            list.retain(|l| {
                !looked_up.contains(l.user_id.as_str())
                    || states
                        .get(&l.user_id)
                        .is_some_and(|s| s.active && l.session == s.version)
            });
        }
        inner.phones.retain(|_, list| !list.is_empty());
        inner.boards.retain(|_, list| !list.is_empty());
        Ok(())
    }

    /// Follows the feed until the process ends.
    pub fn spawn(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut order = Order::starting_at(self.lock().published);
            let mut checked = Instant::now();
            loop {
                let wait = match self.pass(&mut order).await {
                    Ok(Pass::More) => continue,
                    Ok(Pass::Waiting) => GAP_POLL,
                    Ok(Pass::Idle) => POLL,
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the feed failed; retrying");
                        POLL
                    }
                };
                if checked.elapsed() >= SESSION_CHECK {
                    checked = Instant::now();
                    if let Err(e) = self.check_sessions().await {
                        tracing::warn!(error = %e, "checking open streams' sessions failed");
                    }
                }
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(wait.min(SESSION_CHECK)) => {}
                }
            }
        })
    }

    async fn pass(&self, order: &mut Order) -> Result<Pass, DbError> {
        let after = order.published();
        let watched = order.watched(Instant::now());
        let ((rows, in_progress), late) = self
            .db
            .read(move |conn| {
                let rows = dialect::feed_since(conn, after, BATCH)?;
                let late = if watched.is_empty() {
                    Vec::new()
                } else {
                    feed::with_seqs(conn, &watched)?
                };
                Ok::<_, DbError>((rows, late))
            })
            .await?;
        let full = rows.len() as i64 == BATCH;
        // A change to a technician's list, perhaps committed by another instance: the version
        // this instance knew is stale (entries held back for a hole included).
        for user in rows
            .iter()
            .chain(&late)
            .filter_map(|r| r.user_id.as_deref())
        {
            self.db.list_versions().forget(user);
        }
        let late = order.late(late, |r| r.seq);
        let take = order.take(rows, |r| r.seq, Instant::now(), in_progress.as_deref());
        if !late.is_empty() {
            tracing::info!(
                entries = late.len(),
                "feed entries committed after their hole was passed over"
            );
        }
        self.hand_out(late, order.published());
        self.hand_out(take.ready, order.published());
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(if take.waiting {
            Pass::Waiting
        } else if full {
            Pass::More
        } else {
            Pass::Idle
        })
    }
}

enum Pass {
    /// A full batch was read: read again at once.
    More,
    /// A hole holds back later entries.
    Waiting,
    Idle,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(order: &mut Order, seqs: &[i64], at: Instant) -> Take<i64> {
        order.take(seqs.to_vec(), |s| *s, at, None)
    }

    fn take_in(order: &mut Order, seqs: &[i64], at: Instant, running: &[u64]) -> Take<i64> {
        order.take(seqs.to_vec(), |s| *s, at, Some(running))
    }

    #[test]
    fn entries_in_sequence_go_out_at_once() {
        let mut o = Order::starting_at(10);
        let t0 = Instant::now();
        assert_eq!(
            take(&mut o, &[11, 12, 13], t0),
            Take {
                ready: vec![11, 12, 13],
                waiting: false
            }
        );
        assert_eq!(o.published(), 13);
    }

    #[test]
    fn a_hole_holds_later_entries_until_it_fills() {
        let mut o = Order::starting_at(10);
        let t0 = Instant::now();
        let t = take(&mut o, &[11, 13, 14], t0);
        assert_eq!(t.ready, vec![11]);
        assert!(t.waiting);
        // 12 commits a moment later: everything goes out in order.
        let t = take(&mut o, &[12, 13, 14], t0 + Duration::from_millis(300));
        assert_eq!(t.ready, vec![12, 13, 14]);
        assert!(!t.waiting);
        assert!(o.watched(t0).is_empty());
    }

    #[test]
    fn a_hole_older_than_the_window_is_passed_over_and_watched() {
        let mut o = Order::starting_at(10);
        let t0 = Instant::now();
        assert!(take(&mut o, &[12], t0).waiting);
        assert!(take(&mut o, &[12], t0 + GAP_WINDOW / 2).waiting);
        let t = take(&mut o, &[12, 13], t0 + GAP_WINDOW);
        assert_eq!(t.ready, vec![12, 13]);
        assert_eq!(o.watched(t0 + GAP_WINDOW), vec![11]);
        // 11 commits late: it goes out once, then is forgotten.
        assert_eq!(o.late(vec![11], |s| *s), vec![11]);
        assert_eq!(o.late(vec![11], |s| *s), Vec::<i64>::new());
        // A watched hole is given up after the horizon.
        assert!(take(&mut o, &[15], t0 + GAP_WINDOW).waiting);
        let later = t0 + GAP_WINDOW * 2;
        assert_eq!(take(&mut o, &[15], later).ready, vec![15]);
        assert_eq!(o.watched(later), vec![14]);
        assert!(o.watched(later + LATE_HORIZON).is_empty());
    }

    #[test]
    fn a_new_hole_gets_its_own_window() {
        let mut o = Order::starting_at(0);
        let t0 = Instant::now();
        assert!(take(&mut o, &[2], t0).waiting);
        assert_eq!(
            take(&mut o, &[1, 2, 4], t0 + GAP_WINDOW * 3).ready,
            vec![1, 2]
        );
        // The hole before 4 was first seen now, not when the one before 2 was.
        assert!(take(&mut o, &[4], t0 + GAP_WINDOW * 3).waiting);
    }

    #[test]
    fn entries_already_handed_out_are_skipped() {
        let mut o = Order::starting_at(5);
        assert_eq!(take(&mut o, &[4, 5, 6], Instant::now()).ready, vec![6]);
    }

    #[test]
    fn a_hole_with_no_transaction_in_progress_is_final_at_once() {
        let mut o = Order::starting_at(10);
        let t0 = Instant::now();
        let t = take_in(&mut o, &[12, 13], t0, &[]);
        assert_eq!(t.ready, vec![12, 13]);
        assert!(o.watched(t0).is_empty(), "a final hole is not watched");
    }

    #[test]
    fn a_hole_is_final_once_the_transactions_then_in_progress_end() {
        let mut o = Order::starting_at(10);
        let t0 = Instant::now();
        assert!(take_in(&mut o, &[12], t0, &[7, 9]).waiting);
        // 9 ended; 7 still runs, and 20 began after the hole was seen.
        assert!(take_in(&mut o, &[12], t0, &[7, 20]).waiting);
        assert_eq!(take_in(&mut o, &[12], t0, &[20]).ready, vec![12]);
    }

    #[test]
    fn a_long_transaction_holds_a_hole_only_for_the_window() {
        let mut o = Order::starting_at(10);
        let t0 = Instant::now();
        assert!(take_in(&mut o, &[12], t0, &[7]).waiting);
        let t = take_in(&mut o, &[12], t0 + GAP_WINDOW, &[7]);
        assert_eq!(t.ready, vec![12]);
        assert_eq!(o.watched(t0 + GAP_WINDOW), vec![11]);
    }
}

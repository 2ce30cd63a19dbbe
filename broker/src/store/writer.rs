//! The store's thread: folds the router's changes together and commits them, one
//! transaction per interval (group commit), or at once when a publisher waits for durability.
//!
//! A commit that fails (a full card, a file system remounted read-only) keeps its changes
//! and is retried; the broker carries on from memory meanwhile, `$SYS` says so, and the first
//! commit that succeeds again writes everything that was missed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use log::{debug, error, info, warn};
use rusqlite::{params, Connection};

use super::expiry::Now;
use super::pending::{MessageChange, Pending};
use super::{schema, Op, StoreHealth};
use crate::codec::v5::PublishProperties;
use crate::counters::Counters;

/// How often a store that could not be written is tried again.
const RETRY: Duration = Duration::from_secs(10);
/// `$SYS` totals alone are written at most this often: losing a few minutes of counts in a
/// power cut matters less than waking the card for them.
const COUNTERS_ONLY: Duration = Duration::from_secs(300);

pub(super) struct Writer {
    path: PathBuf,
    db: Option<Connection>,
    interval: Duration,
    counters: Arc<Counters>,
    health: StoreHealth,
    pending: Pending,
    /// When the oldest uncommitted change arrived.
    oldest: Option<Instant>,
    /// The totals as last written, and when.
    written_counters: HashMap<&'static str, u64>,
    counters_written: Instant,
    last_attempt_failed: Option<Instant>,
}

impl Writer {
    pub(super) fn new(
        path: PathBuf,
        db: Option<Connection>,
        interval: Duration,
        counters: Arc<Counters>,
        health: StoreHealth,
        stored_counters: &[(String, u64)],
    ) -> Self {
        // The totals go on from where the last run left them.
        let mut written_counters = HashMap::new();
        for (name, counter) in counters.totals() {
            if let Some((_, value)) = stored_counters.iter().find(|(n, _)| n == name) {
                Counters::add(counter, *value);
                written_counters.insert(name, *value);
            }
        }
        let failed = db.is_none().then(Instant::now);
        Self {
            path,
            db,
            interval,
            counters,
            health,
            pending: Pending::default(),
            oldest: None,
            written_counters,
            counters_written: Instant::now(),
            last_attempt_failed: failed,
        }
    }

    pub(super) fn run(mut self, rx: mpsc::Receiver<Op>, idle: &AtomicBool) {
        let mut flushes = Vec::new();
        let mut closing = None;
        loop {
            let open = self.drain(&rx, &mut flushes, &mut closing);
            if !open {
                self.commit(true);
                return;
            }
            if closing.is_some() || !flushes.is_empty() || self.due() {
                // Logged before the last look at the channel, so a change made before this
                // line is in this commit or an earlier one (the process tests wait on it).
                debug!("store commit starting");
                self.drain(&rx, &mut flushes, &mut closing);
                self.commit(closing.is_some() || !flushes.is_empty());
                debug!("store commit finished");
                for done in flushes.drain(..) {
                    let _ = done.send(());
                }
            }
            if let Some(done) = closing {
                if self.db.is_some() && !self.pending.is_empty() {
                    error!(
                        "the broker's store {} could not be written at shutdown; the changes since {:?} ago are lost",
                        self.path.display(),
                        self.oldest.map(|t| t.elapsed()).unwrap_or_default()
                    );
                }
                let _ = done.send(());
                return;
            }
            self.sleep(&rx, idle, &mut flushes, &mut closing);
        }
    }

    /// Takes every change waiting in the channel; `false` once every journal is gone.
    fn drain(
        &mut self,
        rx: &mpsc::Receiver<Op>,
        flushes: &mut Vec<tokio::sync::oneshot::Sender<()>>,
        closing: &mut Option<tokio::sync::oneshot::Sender<()>>,
    ) -> bool {
        while closing.is_none() {
            match rx.try_recv() {
                Ok(op) => self.take(op, flushes, closing),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => return false,
            }
        }
        true
    }

    /// Sleeps until the next commit is due or a journal wakes the thread (see
    /// [`super::WriterWake`]); with nothing pending, until a journal does.
    fn sleep(
        &mut self,
        rx: &mpsc::Receiver<Op>,
        idle: &AtomicBool,
        flushes: &mut Vec<tokio::sync::oneshot::Sender<()>>,
        closing: &mut Option<tokio::sync::oneshot::Sender<()>>,
    ) {
        let wait = self.wait();
        if wait == Some(Duration::ZERO) {
            return;
        }
        if self.pending.is_empty() {
            idle.store(true, Ordering::SeqCst);
            // A change sent before the flag was set did not wake us: look once more.
            match rx.try_recv() {
                Ok(op) => self.take(op, flushes, closing),
                Err(mpsc::TryRecvError::Disconnected) => {}
                Err(mpsc::TryRecvError::Empty) => match wait {
                    None => std::thread::park(),
                    Some(wait) => std::thread::park_timeout(wait),
                },
            }
            idle.store(false, Ordering::SeqCst);
        } else {
            // Something is pending, so its commit is due at some time.
            std::thread::park_timeout(wait.unwrap_or(RETRY));
        }
    }

    pub(super) fn take(
        &mut self,
        op: Op,
        flushes: &mut Vec<tokio::sync::oneshot::Sender<()>>,
        closing: &mut Option<tokio::sync::oneshot::Sender<()>>,
    ) {
        match op {
            Op::Close(done) => *closing = Some(done),
            Op::Flush(done) => flushes.push(done),
            #[cfg(test)]
            Op::Sql(sql) => {
                if let Some(db) = &self.db {
                    let _ = db.execute_batch(sql);
                }
            }
            // While the store fails the broker runs from memory: nobody waits for durability.
            // Nor does a publisher whose message left nothing to write (no subscriber queued
            // it, not retained), unless acknowledgements before it wait: they go in order.
            Op::AckWhenDurable { handle, packet }
                if self.last_attempt_failed.is_some()
                    || (self.pending.acks.is_empty() && !self.pending.has_changes()) =>
            {
                handle.send_packet(*packet)
            }
            op => {
                self.pending.apply(op);
                self.oldest.get_or_insert_with(Instant::now);
            }
        }
    }

    /// How long to wait for the next change: until the oldest pending one is due, or a
    /// retry of a failing store, or the counters' turn; forever when nothing is pending.
    pub(super) fn wait(&self) -> Option<Duration> {
        if !self.pending.acks.is_empty() && self.last_attempt_failed.is_none() {
            return Some(Duration::ZERO);
        }
        let mut due = self.oldest.map(|t| t + self.interval);
        if let Some(failed) = self.last_attempt_failed {
            due = Some(due.map_or(failed + RETRY, |d| d.max(failed + RETRY)));
        }
        if due.is_none() && self.counters_changed() {
            due = Some(self.counters_written + COUNTERS_ONLY);
        }
        due.map(|d| d.saturating_duration_since(Instant::now()))
    }

    pub(super) fn due(&self) -> bool {
        if let Some(failed) = self.last_attempt_failed {
            return failed.elapsed() >= RETRY;
        }
        !self.pending.acks.is_empty()
            || self.oldest.is_some_and(|t| t.elapsed() >= self.interval)
            || (self.oldest.is_none()
                && self.counters_changed()
                && self.counters_written.elapsed() >= COUNTERS_ONLY)
    }

    fn counters_changed(&self) -> bool {
        self.counters.totals().iter().any(|(name, c)| {
            self.written_counters.get(name).copied().unwrap_or(0) != Counters::get(c)
        })
    }

    /// Writes what is pending. The `$SYS` totals go with it at most once per interval (a
    /// strict-mode commit per acknowledgement need not rewrite their page each time), and
    /// always when `everything` is asked for (shutdown, a flush).
    pub(super) fn commit(&mut self, everything: bool) {
        let with_counters = (everything || self.counters_written.elapsed() >= self.interval)
            && self.counters_changed();
        if self.pending.is_empty() && !with_counters {
            // What changed since the last commit cancelled out: nothing is due any more.
            self.pending = Pending::default();
            self.oldest = None;
            return;
        }
        if self.db.is_none() {
            match schema::open(&self.path) {
                Ok((db, set_aside)) => {
                    if let Some(s) = set_aside {
                        warn!(
                            "the broker's store {} was unreadable ({}); renamed to {}",
                            s.path.display(),
                            s.why,
                            s.renamed_to.display()
                        );
                    }
                    self.db = Some(db);
                }
                Err(e) => return self.failed(&e.to_string()),
            }
        }
        let Some(db) = self.db.as_mut() else { return };
        let totals: Vec<(&'static str, u64)> = if with_counters {
            self.counters
                .totals()
                .iter()
                .map(|(name, c)| (*name, Counters::get(c)))
                .collect()
        } else {
            Vec::new()
        };
        let started = Instant::now();
        match write(db, &self.pending, &totals, &self.written_counters) {
            Ok(()) => {
                debug!(
                    "store committed {} changes and {} acknowledgements in {:?}",
                    self.pending.folded,
                    self.pending.acks.len(),
                    started.elapsed()
                );
                for (handle, packet) in self.pending.acks.drain(..) {
                    handle.send_packet(packet);
                }
                self.pending = Pending::default();
                self.oldest = None;
                if with_counters {
                    self.written_counters = totals.into_iter().collect();
                    self.counters_written = Instant::now();
                }
                if self.last_attempt_failed.take().is_some() {
                    info!(
                        "the broker's store {} is written again; nothing held in memory meanwhile was lost",
                        self.path.display()
                    );
                }
                self.health.set(true);
            }
            Err(e) => {
                let why = e.to_string();
                self.failed(&why);
            }
        }
    }

    fn failed(&mut self, why: &str) {
        // Logged when it starts failing, not at every retry.
        if self.last_attempt_failed.is_none() {
            error!(
                "cannot write the broker's store {}: {why}; running from memory (a restart now loses what changed since), retrying every {}s; free space on its file system or make it writable",
                self.path.display(),
                RETRY.as_secs()
            );
        }
        self.health.set(false);
        // Publishers waiting for durability are let go: the broker runs from memory now.
        for (handle, packet) in self.pending.acks.drain(..) {
            handle.send_packet(packet);
        }
        self.last_attempt_failed = Some(Instant::now());
    }
}

/// Writes `pending` in one transaction; nothing of it is written if any statement fails.
fn write(
    db: &mut Connection,
    pending: &Pending,
    totals: &[(&'static str, u64)],
    written: &HashMap<&'static str, u64>,
) -> rusqlite::Result<()> {
    let tx = db.transaction()?;
    // Deadlines become Unix seconds against one reading of the clocks per commit.
    let now = Now::read();
    let stored =
        |p: &Option<Arc<PublishProperties>>| p.as_deref().map(PublishProperties::to_stored);
    {
        let mut put_retained = tx.prepare_cached(
            "INSERT OR REPLACE INTO retained (topic, payload, qos, properties, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut clear_retained = tx.prepare_cached("DELETE FROM retained WHERE topic = ?1")?;
        for (topic, message) in &pending.retained {
            match message {
                Some(m) => {
                    put_retained.execute(params![
                        &**topic,
                        &m.payload[..],
                        m.qos as u8,
                        stored(&m.properties).as_deref(),
                        m.expires_at.map(|at| now.unix_second_of(at)),
                    ])?;
                }
                None => {
                    clear_retained.execute(params![&**topic])?;
                }
            }
        }
    }
    for (client_id, changes) in &pending.sessions {
        let id = &**client_id;
        if changes.reset {
            for table in ["sessions", "subscriptions", "messages", "incoming_qos2"] {
                tx.prepare_cached(&format!("DELETE FROM {table} WHERE client_id = ?1"))?
                    .execute(params![id])?;
            }
        }
        if let Some(row) = &changes.row {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO sessions (client_id, username, offline_since, expiry_interval)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                id,
                row.username.as_deref(),
                row.offline_since.map(|s| s as i64),
                (row.expiry_interval != u32::MAX).then_some(row.expiry_interval),
            ])?;
        }
        for (filter, grant) in &changes.subscriptions {
            match grant {
                Some(g) => tx
                    .prepare_cached(
                        "INSERT OR REPLACE INTO subscriptions
                         (client_id, filter, qos, no_local, retain_as_published, subscription_identifier)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![
                        id,
                        &**filter,
                        g.qos as u8,
                        g.no_local,
                        g.retain_as_published,
                        g.id.map(|id| id.get()),
                    ])?,
                None => tx
                    .prepare_cached("DELETE FROM subscriptions WHERE client_id = ?1 AND filter = ?2")?
                    .execute(params![id, &**filter])?,
            };
        }
        for (seq, change) in &changes.messages {
            let seq = *seq as i64;
            match change {
                MessageChange::Insert(m) => tx
                    .prepare_cached(
                        "INSERT OR REPLACE INTO messages
                         (client_id, seq, pkid, released, qos, retain, from_retained, topic, payload,
                          properties, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    )?
                    .execute(params![
                        id,
                        seq,
                        m.pkid,
                        m.released,
                        m.qos as u8,
                        m.retain,
                        m.from_retained,
                        &*m.topic,
                        &m.payload[..],
                        stored(&m.properties).as_deref(),
                        m.expires_at.map(|at| now.unix_second_of(at)),
                    ])?,
                MessageChange::Update { pkid, released } => {
                    if let Some(pkid) = pkid {
                        tx.prepare_cached(
                            "UPDATE messages SET pkid = ?3 WHERE client_id = ?1 AND seq = ?2",
                        )?
                        .execute(params![id, seq, pkid])?;
                    }
                    if *released {
                        tx.prepare_cached(
                            "UPDATE messages SET released = 1, payload = x'' WHERE client_id = ?1 AND seq = ?2",
                        )?
                        .execute(params![id, seq])?;
                    }
                    0
                }
                MessageChange::Delete => tx
                    .prepare_cached("DELETE FROM messages WHERE client_id = ?1 AND seq = ?2")?
                    .execute(params![id, seq])?,
            };
        }
        for (pkid, held) in &changes.incoming_qos2 {
            if *held {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO incoming_qos2 (client_id, pkid) VALUES (?1, ?2)",
                )?
                .execute(params![id, pkid])?;
            } else {
                tx.prepare_cached("DELETE FROM incoming_qos2 WHERE client_id = ?1 AND pkid = ?2")?
                    .execute(params![id, pkid])?;
            }
        }
    }
    {
        let mut put =
            tx.prepare_cached("INSERT OR REPLACE INTO counters (name, value) VALUES (?1, ?2)")?;
        for (name, value) in totals {
            if written.get(name) != Some(value) {
                put.execute(params![name, *value as i64])?;
            }
        }
    }
    tx.commit()
}

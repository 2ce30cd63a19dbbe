//! What outlives a restart, a crash and a power cut: retained messages, persistent sessions
//! (subscriptions, queued and in-flight messages, QoS 2 ids not yet released) and the
//! `$SYS` totals, in an SQLite file in WAL mode ([`schema`], which also upgrades a file an
//! earlier Hearth wrote).
//!
//! MQTT 5.0 state is kept with it: a session's Session Expiry Interval, each subscription's
//! options and Subscription Identifier, and each message's properties and expiry. A message
//! expiry is kept as a Unix second ([`expiry`]), so one that ran out while the broker was down
//! is dropped as the store is read, and the others are sent with what is left of it.
//!
//! The router stays the one owner of the state. It tells the store what changed through a
//! [`Journal`] (a channel, so the router never waits on the card); the store's own thread
//! folds the changes together ([`pending`]: a message queued and acknowledged within one
//! commit interval never reaches the card, a retained topic updated 100 times is written
//! once) and commits them in one transaction per interval ([`writer`]), or as soon as it can
//! when a publisher waits for durability (`durable_acks`). At start the file is read back
//! into a [`Snapshot`] ([`load`]) that the router restores from.

mod expiry;
mod load;
mod pending;
mod schema;
mod writer;

#[cfg(test)]
mod tests;

/// Folding a journal's changes in memory, for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::pending::{MessageChange, Pending};
    use super::{Op, StoredSession};

    #[derive(Default)]
    pub(crate) struct Folded(Pending);

    impl Folded {
        pub(crate) fn apply(&mut self, op: Op) {
            self.0.apply(op);
        }

        /// The session as a fresh store would hold it after these changes.
        pub(crate) fn session(&self, client_id: &str) -> StoredSession {
            let changes = &self.0.sessions[client_id];
            let row = changes.row.clone().unwrap_or_default();
            let mut subscriptions: Vec<_> = changes
                .subscriptions
                .iter()
                .filter_map(|(f, g)| g.map(|g| (f.clone(), g)))
                .collect();
            subscriptions.sort_by(|a, b| a.0.cmp(&b.0));
            let mut incoming_qos2: Vec<u16> = changes
                .incoming_qos2
                .iter()
                .filter_map(|(p, held)| held.then_some(*p))
                .collect();
            incoming_qos2.sort();
            StoredSession {
                client_id: client_id.into(),
                username: row.username,
                offline_since: row.offline_since,
                expiry_interval: row.expiry_interval,
                subscriptions,
                messages: changes
                    .messages
                    .iter()
                    .filter_map(|(seq, c)| match c {
                        MessageChange::Insert(m) => Some((*seq, m.clone())),
                        _ => None,
                    })
                    .collect(),
                incoming_qos2,
            }
        }
    }
}

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::codec::v5::{Packet, PublishProperties};
use crate::codec::QoS;
use crate::counters::Counters;
use crate::message::Message;
use crate::outbox::ConnHandle;
use crate::subscriptions::Grant;

pub use schema::{SetAside, StoreError};

/// Where the store lives and how it commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistenceSettings {
    /// The SQLite file (`broker.db` in the gateway's state directory).
    pub path: PathBuf,
    /// The longest an accepted change waits before it is durable: what a power cut can lose.
    pub commit_interval: Duration,
    /// Acknowledge a QoS 1/2 PUBLISH (PUBACK, PUBREC) only once what it changed is durable.
    pub durable_acks: bool,
    /// Bytes of messages (retained, and held for persistent sessions) the store may hold;
    /// beyond, a session's oldest queued message makes room, or the new one is not kept.
    pub max_bytes: usize,
}

/// What one held message or retained topic costs in the store beyond its topic and payload:
/// its key, flags and b-tree cell, roughly.
pub(crate) const ROW_OVERHEAD: usize = 48;

/// The store's size as the broker counts it (messages only, not the file's own overhead),
/// against its cap.
struct Usage {
    held: AtomicUsize,
    retained: AtomicUsize,
    cap: usize,
}

/// A message held for a session, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeldMessage {
    /// Its packet id once sent; `None` while queued.
    pub pkid: Option<u16>,
    /// A QoS 2 message whose PUBREC came: only its packet id still matters.
    pub released: bool,
    pub qos: QoS,
    pub retain: bool,
    pub from_retained: bool,
    pub topic: Arc<str>,
    pub payload: Bytes,
    /// Its MQTT 5 properties, the Subscription Identifiers it matched with among them.
    pub properties: Option<Arc<PublishProperties>>,
    /// When its Message Expiry Interval runs out.
    pub expires_at: Option<Instant>,
}

impl HeldMessage {
    /// `message` as held for a session: sent with packet id `pkid`, or queued (`None`).
    pub(crate) fn of(
        message: &Message,
        qos: QoS,
        retain: bool,
        from_retained: bool,
        pkid: Option<u16>,
    ) -> HeldMessage {
        HeldMessage {
            pkid,
            released: false,
            qos,
            retain,
            from_retained,
            topic: message.topic.clone(),
            payload: message.payload.clone(),
            properties: message.properties.clone(),
            expires_at: message.expires_at,
        }
    }

    /// The message it holds, as the session delivers it.
    pub(crate) fn message(&self) -> Message {
        Message {
            properties: self.properties.clone(),
            expires_at: self.expires_at,
            ..Message::new(
                self.topic.clone(),
                self.payload.clone(),
                self.qos,
                self.retain,
            )
        }
    }
}

/// One change to the persistent state, in the order the router made it.
pub(crate) enum Op {
    /// A retained message stored, or its topic cleared (`None`).
    Retained {
        topic: Arc<str>,
        message: Option<Message>,
    },
    /// A persistent session created or taken up (`offline_since` `None`), or its client gone
    /// (seconds since the Unix epoch), or its expiry interval changed.
    Session {
        client_id: Arc<str>,
        username: Option<Arc<str>>,
        offline_since: Option<u64>,
        /// Seconds it outlives its connection; `u32::MAX`: as long as `session_expiry` allows.
        expiry_interval: u32,
    },
    /// The session and everything it held are gone.
    SessionRemoved { client_id: Arc<str> },
    Subscribed {
        client_id: Arc<str>,
        filter: Arc<str>,
        grant: Grant,
    },
    Unsubscribed {
        client_id: Arc<str>,
        filter: Arc<str>,
    },
    /// A message now held for the session, under the session's sequence number `seq`.
    Held {
        client_id: Arc<str>,
        seq: u64,
        message: HeldMessage,
    },
    /// A queued message sent with packet id `pkid`.
    Sent {
        client_id: Arc<str>,
        seq: u64,
        pkid: u16,
    },
    /// PUBREC came for it: it waits for PUBCOMP, payload no longer needed.
    Released { client_id: Arc<str>, seq: u64 },
    /// Acknowledged, or dropped: no longer held.
    Done { client_id: Arc<str>, seq: u64 },
    /// An incoming QoS 2 packet id received (`pending`) or released by PUBREL.
    IncomingQos2 {
        client_id: Arc<str>,
        pkid: u16,
        pending: bool,
    },
    /// Send `packet` to the client once everything before it is durable (`durable_acks`).
    AckWhenDurable {
        handle: ConnHandle,
        /// Boxed: an MQTT 5 acknowledgement may carry properties, and most changes are small.
        packet: Box<Packet>,
    },
    /// Commit now and answer; the store's thread then ends (shutdown).
    Close(tokio::sync::oneshot::Sender<()>),
    /// Commit now (even while failing, without waiting for the retry) and answer.
    #[cfg_attr(not(test), allow(dead_code))]
    Flush(tokio::sync::oneshot::Sender<()>),
    /// Runs SQL on the store's connection: tests make the card "full" with it.
    #[cfg(test)]
    Sql(&'static str),
}

/// The router's side of the store: cheap to clone, never blocks.
#[derive(Clone)]
pub(crate) struct Journal {
    tx: mpsc::Sender<Op>,
    /// None in router tests, where no thread reads the changes.
    wake: Option<Arc<WriterWake>>,
    durable_acks: bool,
    usage: Arc<Usage>,
}

/// When the store's thread is woken: for what cannot wait (an acknowledgement, a flush,
/// shutdown), for the first change after it had nothing pending, and every
/// [`DRAIN_AFTER`] changes. Other changes wait in the channel until it drains them, so a busy
/// broker does not pay a thread wake-up for each.
pub(crate) struct WriterWake {
    thread: std::thread::Thread,
    /// Set by the thread when it sleeps with nothing pending.
    idle: Arc<AtomicBool>,
    /// Changes sent so far (wrapping): every [`DRAIN_AFTER`]th wakes the thread to fold them.
    sent: AtomicUsize,
}

/// Changes left in the channel before the store's thread is woken to fold them: bounds the
/// memory they take (about 100 KiB) while sparing a wake-up per change.
const DRAIN_AFTER: usize = 1024;

impl Journal {
    fn new(
        tx: mpsc::Sender<Op>,
        wake: Option<Arc<WriterWake>>,
        durable_acks: bool,
        cap: usize,
    ) -> Self {
        Journal {
            tx,
            wake,
            durable_acks,
            usage: Arc::new(Usage {
                held: AtomicUsize::new(0),
                retained: AtomicUsize::new(0),
                cap,
            }),
        }
    }

    /// A message of `bytes` is now held for a session.
    pub(crate) fn add_held(&self, bytes: usize) {
        self.usage.held.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn sub_held(&self, bytes: usize) {
        // Saturating: a miscount must not wrap into "full".
        let _ = self
            .usage
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| {
                Some(h.saturating_sub(bytes))
            });
    }

    /// The retained messages now take `bytes`.
    pub(crate) fn set_retained(&self, bytes: usize) {
        self.usage.retained.store(bytes, Ordering::Relaxed);
    }

    /// Whether `extra` more bytes fit under `max_bytes`.
    pub(crate) fn has_room(&self, extra: usize) -> bool {
        let used =
            self.usage.held.load(Ordering::Relaxed) + self.usage.retained.load(Ordering::Relaxed);
        used.saturating_add(extra) <= self.usage.cap
    }

    pub(crate) fn record(&self, op: Op) {
        let urgent = matches!(op, Op::AckWhenDurable { .. } | Op::Close(_) | Op::Flush(_));
        // The thread ends only at shutdown, after the router.
        let _ = self.tx.send(op);
        if let Some(wake) = &self.wake {
            // After the send: a thread going idle sets the flag, then looks at the channel
            // once more, so either it sees this change or this sees the flag.
            let sent = wake.sent.fetch_add(1, Ordering::Relaxed) + 1;
            if urgent || sent % DRAIN_AFTER == 0 || wake.idle.swap(false, Ordering::SeqCst) {
                wake.thread.unpark();
            }
        }
    }

    pub(crate) fn durable_acks(&self) -> bool {
        self.durable_acks
    }

    /// A journal whose changes go nowhere but to `rx` (router tests).
    #[cfg(test)]
    pub(crate) fn for_tests(durable_acks: bool, cap: usize) -> (Journal, mpsc::Receiver<Op>) {
        let (tx, rx) = mpsc::channel();
        (Journal::new(tx, None, durable_acks, cap), rx)
    }
}

/// What the store held at start, for the router to restore.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub retained: Vec<Message>,
    pub sessions: Vec<StoredSession>,
    pub counters: Vec<(String, u64)>,
    /// Rows that could not be understood and were left out, for the log.
    pub skipped_rows: usize,
    /// Queued messages and retained messages whose expiry passed while the broker was down:
    /// left out, and removed from the file.
    pub expired_messages: usize,
    pub expired_retained: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredSession {
    pub client_id: Arc<str>,
    pub username: Option<Arc<str>>,
    pub offline_since: Option<u64>,
    /// Seconds it outlives its connection; `u32::MAX` (MQTT 3.1.1, or a client asking for
    /// 0xFFFFFFFF): as long as the broker's `session_expiry` allows.
    pub expiry_interval: u32,
    pub subscriptions: Vec<(Arc<str>, Grant)>,
    /// In sequence order: in-flight ones first, as they were sent before the queued ones.
    pub messages: Vec<(u64, HeldMessage)>,
    pub incoming_qos2: Vec<u16>,
}

/// Whether changes are reaching the card; `$SYS/broker/hearth/persistence`. Starts "off"
/// (0): no store.
#[derive(Clone, Default)]
pub(crate) struct StoreHealth(Arc<AtomicU8>);

const HEALTH_DURABLE: u8 = 1;
const HEALTH_FAILING: u8 = 2;

impl StoreHealth {
    pub(crate) fn word(&self) -> &'static str {
        match self.0.load(Ordering::Relaxed) {
            HEALTH_DURABLE => "on",
            HEALTH_FAILING => "failing",
            _ => "off",
        }
    }

    fn set(&self, durable: bool) {
        let value = if durable {
            HEALTH_DURABLE
        } else {
            HEALTH_FAILING
        };
        self.0.store(value, Ordering::Relaxed);
    }
}

/// The running store: its thread and the journal that feeds it.
pub(crate) struct Store {
    journal: Journal,
    thread: std::thread::JoinHandle<()>,
}

/// What opening the store found, for the broker to log.
pub(crate) struct Opened {
    pub store: Store,
    pub snapshot: Snapshot,
    pub set_aside: Option<SetAside>,
    /// The store could not be written at start; the broker runs from memory and the store
    /// keeps trying.
    pub failure: Option<StoreError>,
}

impl Store {
    /// Opens the file, reads it back and starts the thread that writes to it. A file that
    /// cannot be used is reported in [`Opened`] and the broker starts empty; only a thread
    /// that cannot be started is an error.
    pub(crate) fn open(
        settings: &PersistenceSettings,
        counters: Arc<Counters>,
        health: StoreHealth,
    ) -> std::io::Result<Opened> {
        let (db, snapshot, set_aside, failure) = match open_and_load(&settings.path) {
            Ok((db, snapshot, set_aside)) => (Some(db), snapshot, set_aside, None),
            Err(e) => (None, Snapshot::default(), None, Some(e)),
        };
        health.set(db.is_some());
        let (tx, rx) = mpsc::channel();
        let writer = writer::Writer::new(
            settings.path.clone(),
            db,
            settings.commit_interval,
            counters,
            health,
            &snapshot.counters,
        );
        let idle = Arc::new(AtomicBool::new(false));
        let writer_idle = idle.clone();
        let thread = std::thread::Builder::new()
            .name("hearth-store".into())
            .spawn(move || writer.run(rx, &writer_idle))?;
        let wake = Arc::new(WriterWake {
            thread: thread.thread().clone(),
            idle,
            sent: AtomicUsize::new(0),
        });
        Ok(Opened {
            store: Store {
                journal: Journal::new(tx, Some(wake), settings.durable_acks, settings.max_bytes),
                thread,
            },
            snapshot,
            set_aside,
            failure,
        })
    }

    pub(crate) fn journal(&self) -> Journal {
        self.journal.clone()
    }

    /// Commits what is pending and stops the thread.
    pub(crate) async fn close(self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.journal.record(Op::Close(done));
        let _ = wait.await;
        let _ = tokio::task::spawn_blocking(move || self.thread.join()).await;
    }
}

fn open_and_load(
    path: &Path,
) -> Result<(rusqlite::Connection, Snapshot, Option<SetAside>), StoreError> {
    let (mut db, mut set_aside) = schema::open(path)?;
    match load::snapshot(&mut db) {
        Ok(snapshot) => Ok((db, snapshot, set_aside)),
        Err(e) => match schema::classify(&e) {
            // Damage the quick check did not see (it reads the b-trees, not every value).
            schema::Unusable::Unreadable(why) => {
                drop(db);
                let renamed_to = schema::set_aside(path).map_err(|io| StoreError::NotWritable {
                    path: path.to_path_buf(),
                    cause: format!("it is unreadable ({why}) and could not be renamed: {io}"),
                })?;
                set_aside = Some(SetAside {
                    path: path.to_path_buf(),
                    renamed_to,
                    why,
                });
                let (db, _) = schema::open(path)?;
                Ok((db, Snapshot::default(), set_aside))
            }
            schema::Unusable::NotWritable(cause) => Err(StoreError::Failed {
                path: path.to_path_buf(),
                cause,
            }),
        },
    }
}

/// What a message with this topic and payload costs the store.
pub(crate) fn message_bytes(topic: &str, payload: &[u8]) -> usize {
    topic.len() + payload.len() + ROW_OVERHEAD
}

/// What `message` costs the store: its topic, payload and MQTT 5 properties.
pub(crate) fn stored_bytes(message: &Message) -> usize {
    message_bytes(&message.topic, &message.payload)
        + message
            .properties
            .as_deref()
            .map_or(0, PublishProperties::stored_len)
}

/// Seconds since the Unix epoch, for `offline_since`.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

//! The store against a real SQLite file in a scratch directory.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "hearth-store-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("broker.db")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn settings(path: PathBuf) -> PersistenceSettings {
    PersistenceSettings {
        path,
        // Long, so that only Flush and Close commit.
        commit_interval: Duration::from_secs(3600),
        durable_acks: false,
        max_bytes: usize::MAX,
    }
}

fn open(path: PathBuf) -> Opened {
    Store::open(
        &settings(path),
        Arc::new(Counters::default()),
        StoreHealth::default(),
    )
    .unwrap()
}

fn held(seq: u64, pkid: Option<u16>) -> Op {
    Op::Held {
        client_id: "node".into(),
        seq,
        message: HeldMessage::of(
            &Message::new("Kitchen/set", format!("m{seq}"), QoS::AtLeastOnce, false),
            QoS::AtLeastOnce,
            false,
            false,
            pkid,
        ),
    }
}

async fn flush(journal: &Journal) {
    let (done, wait) = tokio::sync::oneshot::channel();
    journal.record(Op::Flush(done));
    wait.await.unwrap();
}

#[tokio::test]
async fn what_was_committed_is_read_back() {
    let dir = Scratch::new("roundtrip");
    let opened = open(dir.db());
    assert!(opened.failure.is_none() && opened.set_aside.is_none());
    let j = opened.store.journal();
    j.record(Op::Retained {
        topic: "Kitchen/Fridge/temperature".into(),
        message: Some(Message::new(
            "Kitchen/Fridge/temperature",
            "4.5",
            QoS::AtLeastOnce,
            true,
        )),
    });
    j.record(Op::Retained {
        topic: "gone".into(),
        message: Some(Message::new("gone", "x", QoS::AtMostOnce, true)),
    });
    j.record(Op::Session {
        client_id: "node".into(),
        username: Some("kitchen".into()),
        offline_since: None,
        expiry_interval: u32::MAX,
    });
    j.record(Op::Subscribed {
        client_id: "node".into(),
        filter: "Kitchen/+/set".into(),
        grant: Grant::qos(QoS::ExactlyOnce),
    });
    for seq in 1..=3 {
        j.record(held(seq, None));
    }
    j.record(Op::Sent {
        client_id: "node".into(),
        seq: 1,
        pkid: 7,
    });
    j.record(Op::IncomingQos2 {
        client_id: "node".into(),
        pkid: 42,
        pending: true,
    });
    flush(&j).await;
    // Changes on rows already written.
    j.record(Op::Retained {
        topic: "gone".into(),
        message: None,
    });
    j.record(Op::Done {
        client_id: "node".into(),
        seq: 2,
    });
    j.record(Op::Session {
        client_id: "node".into(),
        username: Some("kitchen".into()),
        offline_since: Some(1_700_000_000),
        expiry_interval: u32::MAX,
    });
    opened.store.close().await;

    let again = open(dir.db());
    let snap = again.snapshot;
    assert_eq!(snap.skipped_rows, 0);
    assert_eq!(snap.retained.len(), 1);
    assert_eq!(&snap.retained[0].payload[..], b"4.5");
    assert_eq!(snap.sessions.len(), 1);
    let s = &snap.sessions[0];
    assert_eq!(s.username.as_deref(), Some("kitchen"));
    assert_eq!(s.offline_since, Some(1_700_000_000));
    assert_eq!(
        s.subscriptions,
        vec![("Kitchen/+/set".into(), Grant::qos(QoS::ExactlyOnce))]
    );
    let seqs: Vec<(u64, Option<u16>)> = s.messages.iter().map(|(seq, m)| (*seq, m.pkid)).collect();
    assert_eq!(seqs, vec![(1, Some(7)), (3, None)]);
    assert_eq!(s.incoming_qos2, vec![42]);
    again.store.close().await;
}

#[tokio::test]
async fn removing_a_session_removes_all_it_held() {
    let dir = Scratch::new("remove");
    let opened = open(dir.db());
    let j = opened.store.journal();
    j.record(Op::Session {
        client_id: "node".into(),
        username: None,
        offline_since: None,
        expiry_interval: u32::MAX,
    });
    j.record(held(1, None));
    flush(&j).await;
    j.record(Op::SessionRemoved {
        client_id: "node".into(),
    });
    opened.store.close().await;
    let again = open(dir.db());
    assert!(again.snapshot.sessions.is_empty());
    again.store.close().await;
}

#[tokio::test]
async fn counters_go_on_from_the_last_run() {
    let dir = Scratch::new("counters");
    let counters = Arc::new(Counters::default());
    let opened = Store::open(
        &settings(dir.db()),
        counters.clone(),
        StoreHealth::default(),
    )
    .unwrap();
    Counters::add(&counters.publish_received, 41);
    opened.store.close().await;
    let counters = Arc::new(Counters::default());
    let again = Store::open(
        &settings(dir.db()),
        counters.clone(),
        StoreHealth::default(),
    )
    .unwrap();
    assert_eq!(Counters::get(&counters.publish_received), 41);
    again.store.close().await;
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_set_aside() {
    let dir = Scratch::new("garbage");
    std::fs::write(dir.db(), vec![0x5a; 8192]).unwrap();
    let opened = open(dir.db());
    let aside = opened.set_aside.clone().expect("set aside");
    assert!(opened.failure.is_none());
    assert!(aside.renamed_to.exists(), "{aside:?}");
    assert_eq!(std::fs::read(&aside.renamed_to).unwrap(), vec![0x5a; 8192]);
    // The new store works.
    let j = opened.store.journal();
    j.record(Op::Retained {
        topic: "t".into(),
        message: Some(Message::new("t", "1", QoS::AtMostOnce, true)),
    });
    opened.store.close().await;
    assert_eq!(open(dir.db()).snapshot.retained.len(), 1);
}

#[tokio::test]
async fn a_store_from_a_newer_version_is_set_aside() {
    let dir = Scratch::new("newer");
    {
        let db = rusqlite::Connection::open(dir.db()).unwrap();
        db.pragma_update(None, "user_version", schema::SCHEMA_VERSION + 1)
            .unwrap();
    }
    let opened = open(dir.db());
    let aside = opened.set_aside.clone().expect("set aside");
    assert!(aside.why.contains("newer Hearth"), "{}", aside.why);
    opened.store.close().await;
}

#[tokio::test]
async fn a_directory_that_cannot_be_written_is_reported_and_nothing_stops() {
    let dir = Scratch::new("missing");
    // A directory that does not exist stands for one that cannot be written (tests run as
    // root, whom permissions do not stop).
    let path = dir.0.join("no-such-dir").join("broker.db");
    let opened = open(path.clone());
    let failure = opened.failure.as_ref().expect("reported");
    assert!(
        failure.to_string().contains(&path.display().to_string()),
        "{failure}"
    );
    let j = opened.store.journal();
    j.record(Op::Retained {
        topic: "t".into(),
        message: Some(Message::new("t", "1", QoS::AtMostOnce, true)),
    });
    // The broker's side never waits on a failing store.
    opened.store.close().await;
}

#[tokio::test]
async fn a_full_card_degrades_to_memory_and_recovers_with_nothing_lost() {
    let dir = Scratch::new("full");
    let health = StoreHealth::default();
    let opened = Store::open(
        &settings(dir.db()),
        Arc::new(Counters::default()),
        health.clone(),
    )
    .unwrap();
    let j = opened.store.journal();
    flush(&j).await;
    assert_eq!(health.word(), "on");
    // No page beyond those the file has: the next commit that grows it fails as on a full card.
    j.record(Op::Sql("PRAGMA max_page_count = 1"));
    let big = Bytes::from(vec![7u8; 64 * 1024]);
    j.record(Op::Retained {
        topic: "big".into(),
        message: Some(Message::new("big", big.clone(), QoS::AtMostOnce, true)),
    });
    flush(&j).await;
    assert_eq!(health.word(), "failing");
    // An acknowledgement waiting for durability is let go rather than held forever.
    let (handle, mut writer) = crate::outbox::channel();
    j.record(Op::AckWhenDurable {
        handle,
        packet: Box::new(Packet::Puback(crate::session::ack(3))),
    });
    match writer.rx.recv().await {
        Some(crate::outbox::Outgoing::Packet(p)) if matches!(&*p, Packet::Puback(a) if a.pkid == 3) =>
            {}
        _ => panic!("the PUBACK was not let go"),
    }
    // Space comes back: the change held in memory is written.
    j.record(Op::Sql("PRAGMA max_page_count = 1000000"));
    flush(&j).await;
    assert_eq!(health.word(), "on");
    opened.store.close().await;
    let again = open(dir.db());
    assert_eq!(again.snapshot.retained.len(), 1);
    assert_eq!(again.snapshot.retained[0].payload, big);
    again.store.close().await;
}

/// The writer's decisions, taken one change at a time without its thread.
#[test]
fn an_acknowledgement_waits_only_when_there_is_something_to_make_durable() {
    let dir = Scratch::new("acks");
    let (db, _) = schema::open(&dir.db()).unwrap();
    let mut writer = writer::Writer::new(
        dir.db(),
        Some(db),
        Duration::from_secs(3600),
        Arc::new(Counters::default()),
        StoreHealth::default(),
        &[],
    );
    let (mut flushes, mut closing) = (Vec::new(), None);
    let (handle, mut conn) = crate::outbox::channel();
    let mut ack = |writer: &mut writer::Writer, pkid| {
        writer.take(
            Op::AckWhenDurable {
                handle: handle.clone(),
                packet: Box::new(Packet::Puback(crate::session::ack(pkid))),
            },
            &mut flushes,
            &mut closing,
        )
    };
    let mut sent = || match conn.rx.try_recv() {
        Ok(crate::outbox::Outgoing::Packet(p)) => match *p {
            Packet::Puback(a) => Some(a.pkid),
            _ => panic!("not a PUBACK"),
        },
        Ok(_) => panic!("not a PUBACK"),
        Err(_) => None,
    };

    // Nothing reached any queue: there is nothing to wait for.
    ack(&mut writer, 1);
    assert_eq!(sent(), Some(1));

    let done = |writer: &mut writer::Writer, seq| {
        let op = Op::Done {
            client_id: "node".into(),
            seq,
        };
        writer.take(op, &mut Vec::new(), &mut None)
    };

    // A message queued for an absent client: its PUBACK waits for the commit.
    writer.take(held(1, None), &mut Vec::new(), &mut None);
    ack(&mut writer, 2);
    assert_eq!(sent(), None);
    // The message is delivered and acknowledged before the commit, so nothing is left to
    // write; the next PUBACK still waits behind the earlier one (PUBACKs go in the order of
    // their PUBLISHes).
    done(&mut writer, 1);
    ack(&mut writer, 3);
    assert_eq!(sent(), None);
    writer.commit(false);
    assert_eq!((sent(), sent(), sent()), (Some(2), Some(3), None));

    // Queued and acknowledged by its subscriber before the PUBLISH's own PUBACK: at once.
    writer.take(held(2, None), &mut Vec::new(), &mut None);
    done(&mut writer, 2);
    ack(&mut writer, 4);
    assert_eq!(sent(), Some(4));
    // And when its interval ends nothing is written, and nothing is due after.
    writer.commit(false);
    assert!(!writer.due());
    assert_eq!(writer.wait(), None, "nothing to wake up for");
}

/// User properties and the Subscription Identifier a held message matched with, as an
/// MQTT 5 delivery carries them.
fn v5_properties(origin: &str) -> Arc<PublishProperties> {
    Arc::new(PublishProperties {
        user_properties: vec![("origin".into(), origin.into())],
        content_type: Some("text/plain".into()),
        subscription_identifiers: vec![7],
        ..PublishProperties::default()
    })
}

/// What is left of `message`'s expiry when read back, in whole seconds as sent.
fn remaining(message: &Message) -> Option<u32> {
    message.remaining_expiry(Instant::now())
}

#[tokio::test]
async fn an_mqtt5_session_comes_back_with_its_expiry_subscription_options_and_message_properties() {
    let dir = Scratch::new("v5");
    let opened = open(dir.db());
    let j = opened.store.journal();
    let now = Instant::now();
    let reading = Message {
        properties: Some(v5_properties("sensor")),
        expires_at: Some(now + Duration::from_secs(300)),
        ..Message::new("Kitchen/temperature", "21.5", QoS::AtLeastOnce, true)
    };
    j.record(Op::Retained {
        topic: reading.topic.clone(),
        message: Some(reading.clone()),
    });
    j.record(Op::Session {
        client_id: "hub".into(),
        username: None,
        offline_since: Some(1_700_000_000),
        expiry_interval: 600,
    });
    // A 3.1.1 client's beside it: its interval is the broker's to decide.
    j.record(Op::Session {
        client_id: "node".into(),
        username: None,
        offline_since: Some(1_700_000_000),
        expiry_interval: u32::MAX,
    });
    let with_options = Grant {
        qos: QoS::AtLeastOnce,
        no_local: true,
        retain_as_published: true,
        id: std::num::NonZeroU32::new(268_435_455),
    };
    j.record(Op::Subscribed {
        client_id: "hub".into(),
        filter: "home/+/cmd".into(),
        grant: with_options,
    });
    j.record(Op::Subscribed {
        client_id: "hub".into(),
        filter: "home/#".into(),
        grant: Grant::qos(QoS::ExactlyOnce),
    });
    let command = Message {
        properties: Some(v5_properties("phone")),
        expires_at: Some(now + Duration::from_secs(120)),
        ..Message::new("home/lamp/cmd", "ON", QoS::AtLeastOnce, false)
    };
    j.record(Op::Held {
        client_id: "hub".into(),
        seq: 1,
        message: HeldMessage::of(&command, QoS::AtLeastOnce, false, false, Some(3)),
    });
    let plain = Message::new("home/lamp/cmd", "OFF", QoS::AtLeastOnce, false);
    j.record(Op::Held {
        client_id: "hub".into(),
        seq: 2,
        message: HeldMessage::of(&plain, QoS::AtLeastOnce, false, false, None),
    });
    opened.store.close().await;

    let again = open(dir.db());
    let snap = again.snapshot;
    assert_eq!(
        (
            snap.skipped_rows,
            snap.expired_messages,
            snap.expired_retained
        ),
        (0, 0, 0)
    );
    let retained = &snap.retained[0];
    assert_eq!(retained.properties, reading.properties);
    let left = remaining(retained).expect("an expiry");
    assert!((298..=300).contains(&left), "{left} s of 300 left");

    let hub = snap
        .sessions
        .iter()
        .find(|s| &*s.client_id == "hub")
        .unwrap();
    assert_eq!(hub.expiry_interval, 600);
    assert_eq!(
        hub.subscriptions,
        vec![
            ("home/#".into(), Grant::qos(QoS::ExactlyOnce)),
            ("home/+/cmd".into(), with_options)
        ]
    );
    let [(1, sent), (2, queued)] = &hub.messages[..] else {
        panic!("{:?}", hub.messages);
    };
    assert_eq!(sent.pkid, Some(3));
    assert_eq!(sent.properties, command.properties);
    let left = remaining(&sent.message()).expect("an expiry");
    assert!((118..=120).contains(&left), "{left} s of 120 left");
    assert_eq!((&queued.properties, queued.expires_at), (&None, None));

    let node = snap
        .sessions
        .iter()
        .find(|s| &*s.client_id == "node")
        .unwrap();
    assert_eq!(node.expiry_interval, u32::MAX);
    again.store.close().await;
    let db = rusqlite::Connection::open(dir.db()).unwrap();
    let stored: Option<i64> = db
        .query_row(
            "SELECT expiry_interval FROM sessions WHERE client_id = 'node'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(stored, None, "NULL: no interval of its own");
}

/// The tables of store version 1, as the first released Hearth created them.
const V1_TABLES: &str = "
CREATE TABLE retained (topic TEXT PRIMARY KEY, payload BLOB NOT NULL, qos INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE sessions (client_id TEXT PRIMARY KEY, username TEXT, offline_since INTEGER)
    WITHOUT ROWID;
CREATE TABLE subscriptions (client_id TEXT NOT NULL, filter TEXT NOT NULL, qos INTEGER NOT NULL,
    PRIMARY KEY (client_id, filter)) WITHOUT ROWID;
CREATE TABLE messages (client_id TEXT NOT NULL, seq INTEGER NOT NULL, pkid INTEGER,
    released INTEGER NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL,
    from_retained INTEGER NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL,
    PRIMARY KEY (client_id, seq)) WITHOUT ROWID;
CREATE TABLE incoming_qos2 (client_id TEXT NOT NULL, pkid INTEGER NOT NULL,
    PRIMARY KEY (client_id, pkid)) WITHOUT ROWID;
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
PRAGMA journal_mode = WAL;
PRAGMA user_version = 1;
";

/// A store version 1 file with one of each kind of row.
fn write_v1_file(path: &std::path::Path) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(V1_TABLES).unwrap();
    db.execute_batch(
        "INSERT INTO retained VALUES ('Kitchen/temperature', x'32312e35', 1);
         INSERT INTO sessions VALUES ('node', 'kitchen', 1700000000);
         INSERT INTO subscriptions VALUES ('node', 'Kitchen/+/set', 2);
         INSERT INTO messages VALUES ('node', 4, 9, 0, 1, 0, 0, 'Kitchen/relay/set', x'4f4e');
         INSERT INTO messages VALUES ('node', 5, NULL, 0, 2, 1, 1, 'Kitchen/mode', x'6175746f');
         INSERT INTO incoming_qos2 VALUES ('node', 42);
         INSERT INTO counters VALUES ('publish_received', 41);",
    )
    .unwrap();
}

fn user_version(path: &std::path::Path) -> i64 {
    let db = rusqlite::Connection::open(path).unwrap();
    db.query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_version_1_file_is_upgraded_in_place_with_every_row_kept() {
    let dir = Scratch::new("v1");
    write_v1_file(&dir.db());
    let counters = Arc::new(Counters::default());
    let opened = Store::open(
        &settings(dir.db()),
        counters.clone(),
        StoreHealth::default(),
    )
    .unwrap();
    assert!(opened.set_aside.is_none() && opened.failure.is_none());
    let snap = &opened.snapshot;
    assert_eq!(snap.skipped_rows, 0);
    assert_eq!(
        snap.retained,
        [Message::new(
            "Kitchen/temperature",
            "21.5",
            QoS::AtLeastOnce,
            true
        )]
    );
    let s = &snap.sessions[0];
    assert_eq!(
        (s.client_id.as_ref(), s.username.as_deref(), s.offline_since),
        ("node", Some("kitchen"), Some(1_700_000_000))
    );
    assert_eq!(s.expiry_interval, u32::MAX, "a 3.1.1 session");
    assert_eq!(
        s.subscriptions,
        [("Kitchen/+/set".into(), Grant::qos(QoS::ExactlyOnce))]
    );
    let held: Vec<_> = s
        .messages
        .iter()
        .map(|(seq, m)| {
            (
                *seq,
                m.pkid,
                m.qos,
                &*m.topic,
                &m.payload[..],
                m.from_retained,
            )
        })
        .collect();
    assert_eq!(
        held,
        [
            (
                4,
                Some(9),
                QoS::AtLeastOnce,
                "Kitchen/relay/set",
                &b"ON"[..],
                false
            ),
            (
                5,
                None,
                QoS::ExactlyOnce,
                "Kitchen/mode",
                &b"auto"[..],
                true
            )
        ]
    );
    assert!(s
        .messages
        .iter()
        .all(|(_, m)| m.properties.is_none() && m.expires_at.is_none()));
    assert_eq!(s.incoming_qos2, [42]);
    assert_eq!(Counters::get(&counters.publish_received), 41);
    // The upgraded file takes what only version 2 has.
    let j = opened.store.journal();
    j.record(Op::Session {
        client_id: "node".into(),
        username: Some("kitchen".into()),
        offline_since: Some(1_700_000_100),
        expiry_interval: 3600,
    });
    opened.store.close().await;
    assert_eq!(user_version(&dir.db()), schema::SCHEMA_VERSION);
    let names: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains("unreadable")),
        "nothing set aside: {names:?}"
    );
    let again = open(dir.db());
    let s = &again.snapshot.sessions[0];
    assert_eq!((s.expiry_interval, s.messages.len()), (3600, 2));
    again.store.close().await;
}

/// A column: name, type, NOT NULL, default, place in the key.
type Column = (String, String, bool, Option<String>, i64);

/// Each table with its columns.
fn columns(path: &std::path::Path) -> Vec<(String, Vec<Column>)> {
    let db = rusqlite::Connection::open(path).unwrap();
    let mut tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    tables.sort();
    tables
        .into_iter()
        .map(|table| {
            let info = db
                .prepare(&format!("PRAGMA table_info({table})"))
                .unwrap()
                .query_map([], |row| {
                    Ok((
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                    ))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (table, info)
        })
        .collect()
}

#[tokio::test]
async fn a_new_file_and_an_upgraded_one_have_the_same_tables() {
    let (new, upgraded) = (Scratch::new("layout-new"), Scratch::new("layout-v1"));
    open(new.db()).store.close().await;
    write_v1_file(&upgraded.db());
    open(upgraded.db()).store.close().await;
    let layout = columns(&new.db());
    assert_eq!(layout.len(), 6, "{layout:?}");
    assert_eq!(layout, columns(&upgraded.db()));
    assert_eq!(user_version(&new.db()), schema::SCHEMA_VERSION);
}

#[tokio::test]
async fn messages_whose_expiry_passed_while_down_are_dropped_and_removed_from_the_file() {
    let dir = Scratch::new("expired");
    let opened = open(dir.db());
    let j = opened.store.journal();
    // Due now: it has passed by the time the file is read back.
    let due = Some(Instant::now());
    let later = Some(Instant::now() + Duration::from_secs(600));
    let message = |topic: &str, expires_at| Message {
        expires_at,
        ..Message::new(topic, "x", QoS::AtLeastOnce, true)
    };
    for (topic, expires_at) in [("stale", due), ("fresh", later), ("forever", None)] {
        j.record(Op::Retained {
            topic: topic.into(),
            message: Some(message(topic, expires_at)),
        });
    }
    j.record(Op::Session {
        client_id: "hub".into(),
        username: None,
        offline_since: Some(1_700_000_000),
        expiry_interval: 600,
    });
    let held = [
        (1, Some(5), due, "in flight: its delivery had started"),
        (2, None, due, "queued and expired"),
        (3, None, later, "queued"),
    ];
    for (seq, pkid, expires_at, topic) in held {
        j.record(Op::Held {
            client_id: "hub".into(),
            seq,
            message: HeldMessage::of(
                &message(topic, expires_at),
                QoS::AtLeastOnce,
                false,
                false,
                pkid,
            ),
        });
    }
    opened.store.close().await;

    let again = open(dir.db());
    let snap = &again.snapshot;
    assert_eq!((snap.expired_messages, snap.expired_retained), (1, 1));
    let mut retained: Vec<&str> = snap.retained.iter().map(|m| &*m.topic).collect();
    retained.sort();
    assert_eq!(retained, ["forever", "fresh"]);
    let seqs: Vec<u64> = snap.sessions[0].messages.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, [1, 3]);
    again.store.close().await;

    let third = open(dir.db());
    let snap = &third.snapshot;
    assert_eq!(
        (
            snap.expired_messages,
            snap.expired_retained,
            snap.retained.len()
        ),
        (0, 0, 2),
        "the expired rows were removed from the file"
    );
    assert_eq!(snap.sessions[0].messages.len(), 2);
    third.store.close().await;
}

#[tokio::test]
async fn mqtt5_values_that_make_no_sense_are_skipped_rows() {
    let dir = Scratch::new("nonsense");
    open(dir.db()).store.close().await;
    {
        let db = rusqlite::Connection::open(dir.db()).unwrap();
        db.execute_batch(
            "INSERT INTO sessions (client_id, offline_since, expiry_interval)
                 VALUES ('negative', 1700000000, -1), ('hub', 1700000000, 600);
             INSERT INTO subscriptions (client_id, filter, qos, subscription_identifier)
                 VALUES ('hub', 'a', 1, 0), ('hub', 'b', 1, 268435456), ('hub', 'c', 1, 1);
             INSERT INTO messages (client_id, seq, pkid, released, qos, retain, from_retained,
                                   topic, payload, properties)
                 VALUES ('hub', 1, NULL, 0, 1, 0, 0, 't', x'31', x'05ff'),
                        ('hub', 2, NULL, 0, 1, 0, 0, 't', x'32', x'00');
             INSERT INTO retained (topic, payload, qos, properties)
                 VALUES ('damaged', x'31', 0, x'0226'), ('fine', x'31', 0, NULL);",
        )
        .unwrap();
    }
    let opened = open(dir.db());
    let snap = &opened.snapshot;
    // The session row, two identifiers, a message's and a retained message's properties.
    assert_eq!(snap.skipped_rows, 5);
    assert_eq!(snap.sessions.len(), 1);
    let hub = &snap.sessions[0];
    let filters: Vec<&str> = hub.subscriptions.iter().map(|(f, _)| &**f).collect();
    assert_eq!(filters, ["c"]);
    assert_eq!(hub.messages.len(), 1);
    assert_eq!(
        hub.messages[0].1.properties.as_deref(),
        Some(&PublishProperties::default()),
        "an empty property block is no property"
    );
    let topics: Vec<&str> = snap.retained.iter().map(|m| &*m.topic).collect();
    assert_eq!(topics, ["fine"]);
    opened.store.close().await;
}

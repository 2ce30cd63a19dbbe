//! The store against a real SQLite file in a scratch directory.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
        message: HeldMessage {
            pkid,
            released: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            from_retained: false,
            topic: "Kitchen/set".into(),
            payload: Bytes::from(format!("m{seq}")),
        },
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
    });
    j.record(Op::Subscribed {
        client_id: "node".into(),
        filter: "Kitchen/+/set".into(),
        qos: QoS::ExactlyOnce,
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
        vec![("Kitchen/+/set".into(), QoS::ExactlyOnce)]
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

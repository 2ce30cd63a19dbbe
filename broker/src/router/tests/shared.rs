//! The router shared by connection tasks and its own task: connections call it directly, and
//! once the task has shut it down a connection is told to end.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::harness::{client, open_acl, with_will};
use crate::codec::v5::{ConnackReason, Packet};
use crate::codec::{self, QoS, Subscribe};
use crate::counters::Counters;
use crate::event::{ClientIdentity, Event};
use crate::outbox::{self, Outgoing, WriterSide};
use crate::router::{Router, SharedRouter};
use crate::settings::BrokerSettings;

fn identity() -> ClientIdentity {
    ClientIdentity {
        peer: std::net::SocketAddr::from(([127, 0, 0, 1], 40_000)),
        listener: "test".into(),
        username: None,
        users_generation: 0,
    }
}

fn connect(router: &SharedRouter, conn: u64, connect: crate::codec::Connect) -> WriterSide {
    let (handle, mut writer) = outbox::channel();
    let (version, connect) = crate::wire::connect_from_v3(connect);
    router
        .handle(Event::Connect {
            conn,
            version,
            connect,
            identity: identity(),
            handle,
        })
        .expect("the router is running");
    match writer.rx.try_recv() {
        Ok(Outgoing::Packet(p)) if matches!(&*p, Packet::Connack(c) if c.reason == ConnackReason::Success) => {
            writer
        }
        _ => panic!("expected CONNACK accepted"),
    }
}

fn shared_router() -> SharedRouter {
    SharedRouter::new(Router::new(
        BrokerSettings::default(),
        open_acl(),
        Arc::new(Counters::default()),
    ))
}

/// Subscribes connection `conn` to `filter` and takes its SUBACK from `writer`.
fn subscribe(router: &SharedRouter, conn: u64, writer: &mut WriterSide, filter: &str, qos: QoS) {
    router
        .handle(Event::Packet {
            conn,
            packet: crate::wire::packet_from_v3(codec::Packet::Subscribe(Subscribe {
                pkid: 1,
                filters: vec![(filter.into(), qos)],
            }))
            .expect("a client's packet"),
        })
        .expect("the router is running");
    assert!(matches!(
        writer.rx.try_recv(),
        Ok(Outgoing::Packet(p)) if matches!(*p, Packet::Suback(_))
    ));
}

#[tokio::test]
async fn after_the_router_task_shuts_down_connections_are_closed_and_told_to_end() {
    let router = shared_router();
    let mut watcher = connect(&router, 1, client("watcher"));
    subscribe(&router, 1, &mut watcher, "nodes/#", QoS::AtMostOnce);
    let mut node = connect(
        &router,
        2,
        with_will("node", "nodes/node", "offline", QoS::AtMostOnce, false),
    );

    let (events, inbox) = mpsc::channel(8);
    let task = tokio::spawn(router.clone().run(inbox));
    events.send(Event::Shutdown).await.unwrap();
    task.await.expect("the router's task ends without a panic");

    // The node's will went out before its connection was closed.
    match watcher.rx.try_recv() {
        Ok(Outgoing::Publish { message, .. }) => assert_eq!(&message.payload[..], b"offline"),
        _ => panic!("expected the node's will"),
    }
    assert!(matches!(watcher.rx.try_recv(), Ok(Outgoing::Close)));
    assert!(matches!(node.rx.try_recv(), Ok(Outgoing::Close)));
    // A packet that arrives afterwards is not handled: its connection ends.
    assert!(router
        .handle(Event::Packet {
            conn: 1,
            packet: Packet::Pingreq,
        })
        .is_err());
}

#[tokio::test]
async fn an_in_process_publish_is_routed_and_stored_before_it_returns() {
    // The router's task is not running: a publish that only queued an event for it would not
    // have been stored when a phone subscribes right after (a relay's state at start).
    let router = shared_router();
    let (events, _unread) = mpsc::channel(8);
    let handle = crate::BrokerHandle {
        router: router.clone(),
        events,
    };
    handle
        .publish("Kitchen/Purifier/state", "OFF", QoS::AtLeastOnce, true)
        .await
        .expect("published");
    let mut phone = connect(&router, 1, client("phone"));
    subscribe(&router, 1, &mut phone, "Kitchen/+/state", QoS::AtLeastOnce);
    match phone.rx.try_recv() {
        Ok(Outgoing::Publish {
            message, retain, ..
        }) => {
            assert_eq!(&message.payload[..], b"OFF");
            assert!(retain, "delivered as the retained state");
        }
        _ => panic!("expected the retained state"),
    }
}

//! A subscriber that stops reading must not make the broker buffer without limit.

use std::io::Write;

use broker::codec::{encode_publish, Packet, QoS};
use bytes::{Bytes, BytesMut};

use super::harness::{Daemon, RawClient};

const MESSAGE_SIZE: usize = 16 * 1024;
const MESSAGES: usize = 12_000; // ~190 MiB offered to each slow subscriber

#[test]
fn a_flood_to_stalled_subscribers_stays_bounded() {
    let daemon = Daemon::start("memory", "max_queued_messages = 100\nmax_inflight = 10");
    // Two subscribers that never read: one at QoS 0, one persistent at QoS 1.
    let mut stalled_qos0 = RawClient::connect(daemon.addr, "stalled-0", None);
    stalled_qos0.subscribe("flood/#", QoS::AtMostOnce);
    let mut stalled_qos1 = RawClient::connect(daemon.addr, "stalled-1", None);
    stalled_qos1.subscribe("flood/#", QoS::AtLeastOnce);
    assert!(matches!(stalled_qos0.recv(), Some(Packet::Suback(_))));
    assert!(matches!(stalled_qos1.recv(), Some(Packet::Suback(_))));
    let baseline = daemon.rss_kib();

    let mut publisher = RawClient::connect(daemon.addr, "flooder", None);
    let payload = Bytes::from(vec![0x5a; MESSAGE_SIZE]);
    let mut batch = BytesMut::new();
    for i in 0..MESSAGES {
        encode_publish(
            &mut batch,
            "flood/x",
            &payload,
            QoS::AtMostOnce,
            false,
            false,
            0,
        );
        if i % 64 == 63 {
            publisher.stream.write_all(&batch).expect("publish");
            batch.clear();
        }
    }
    publisher.stream.write_all(&batch).expect("publish");
    // The router handles one client's packets in order: once this QoS 1 publish is
    // acknowledged, the whole flood has been routed.
    batch.clear();
    encode_publish(
        &mut batch,
        "flood/end",
        b"",
        QoS::AtLeastOnce,
        false,
        false,
        7,
    );
    publisher.stream.write_all(&batch).expect("publish");
    assert!(matches!(publisher.recv(), Some(Packet::Puback(7))));

    // A fresh client still gets service while the stalled ones hold their buffers.
    let mut probe = RawClient::connect(daemon.addr, "probe", None);
    probe.subscribe("probe/ping", QoS::AtMostOnce);
    assert!(matches!(probe.recv(), Some(Packet::Suback(_))));
    let mut out = BytesMut::new();
    encode_publish(
        &mut out,
        "probe/ping",
        b"hi",
        QoS::AtMostOnce,
        false,
        false,
        0,
    );
    publisher.stream.write_all(&out).expect("ping");
    match probe.recv() {
        Some(Packet::Publish(p)) => assert_eq!(&p.payload[..], b"hi"),
        other => panic!("broker stopped serving under the flood: {other:?}"),
    }

    let grown_kib = daemon.rss_kib().saturating_sub(baseline);
    eprintln!("baseline {baseline} KiB, grown {grown_kib} KiB");
    let offered_kib = (MESSAGES * MESSAGE_SIZE / 1024) as u64;
    // Per stalled client the broker may hold max_queued_messages plus the in-flight window and
    // a write batch: about 2 MiB each here. Allow generous slack for allocator behaviour.
    assert!(
        grown_kib < 48 * 1024,
        "broker grew by {grown_kib} KiB while {offered_kib} KiB was offered to stalled subscribers"
    );
}

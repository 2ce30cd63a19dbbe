//! The seed corpus is the encoding of the packets below, and every seed and
//! every regression input passes the fuzz target's checks.
//!
//! `WRITE_SEEDS=1 cargo test --manifest-path broker/fuzz/Cargo.toml` rewrites
//! `seeds/decode/` from this list.

use std::path::{Path, PathBuf};

use broker::codec::{
    Connack, Connect, ConnectReturnCode, LastWill, Packet, Protocol, Publish, QoS, Suback,
    SubackCode, Subscribe, Unsubscribe,
};
use bytes::{Bytes, BytesMut};

/// One valid packet of every type, each optional CONNECT field, every QoS
/// and both remaining-length widths a small input can reach.
fn seed_packets() -> Vec<(&'static str, Vec<Packet>)> {
    let connect = Connect {
        protocol: Protocol::V311,
        clean_session: true,
        keep_alive: 60,
        client_id: "node-1".into(),
        will: None,
        username: None,
        password: None,
    };
    let full_connect = Connect {
        protocol: Protocol::V31,
        clean_session: false,
        keep_alive: 0,
        client_id: "esp-kitchen".into(),
        will: Some(LastWill {
            topic: "home/kitchen/status".into(),
            payload: Bytes::from_static(b"offline"),
            qos: QoS::AtLeastOnce,
            retain: true,
        }),
        username: Some("hearth".into()),
        password: Some(Bytes::from_static(b"s3cret")),
    };
    let publish = |qos, pkid, payload: &[u8]| {
        Packet::Publish(Publish {
            dup: false,
            qos,
            retain: false,
            topic: "home/kitchen/temperature".into(),
            pkid,
            payload: Bytes::copy_from_slice(payload),
        })
    };
    let subscribe = Packet::Subscribe(Subscribe {
        pkid: 1,
        filters: vec![
            ("home/+/temperature".into(), QoS::AtMostOnce),
            ("$SYS/#".into(), QoS::ExactlyOnce),
        ],
    });
    vec![
        ("connect", vec![Packet::Connect(connect.clone())]),
        ("connect-v31-will-auth", vec![Packet::Connect(full_connect)]),
        (
            "connack",
            vec![Packet::Connack(Connack {
                session_present: true,
                code: ConnectReturnCode::Accepted,
            })],
        ),
        ("publish-qos0", vec![publish(QoS::AtMostOnce, 0, b"21.5")]),
        ("publish-qos1", vec![publish(QoS::AtLeastOnce, 7, b"21.5")]),
        (
            "publish-qos2-dup-retain",
            vec![Packet::Publish(Publish {
                dup: true,
                qos: QoS::ExactlyOnce,
                retain: true,
                topic: "a".into(),
                pkid: u16::MAX,
                payload: Bytes::new(),
            })],
        ),
        (
            "publish-two-byte-length",
            vec![publish(QoS::AtMostOnce, 0, &[0x5a; 200])],
        ),
        ("puback", vec![Packet::Puback(7)]),
        ("pubrec", vec![Packet::Pubrec(8)]),
        ("pubrel", vec![Packet::Pubrel(8)]),
        ("pubcomp", vec![Packet::Pubcomp(8)]),
        ("subscribe", vec![subscribe.clone()]),
        (
            "suback",
            vec![Packet::Suback(Suback {
                pkid: 1,
                codes: vec![SubackCode::Granted(QoS::AtMostOnce), SubackCode::Failure],
            })],
        ),
        (
            "unsubscribe",
            vec![Packet::Unsubscribe(Unsubscribe {
                pkid: 2,
                filters: vec!["home/+/temperature".into()],
            })],
        ),
        ("unsuback", vec![Packet::Unsuback(2)]),
        ("pingreq", vec![Packet::Pingreq]),
        ("pingresp", vec![Packet::Pingresp]),
        ("disconnect", vec![Packet::Disconnect]),
        (
            "session",
            vec![
                Packet::Connect(connect),
                subscribe,
                publish(QoS::AtLeastOnce, 3, b"on"),
                Packet::Pingreq,
                Packet::Disconnect,
            ],
        ),
    ]
}

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(name)
        .join("decode")
}

fn encode(packets: &[Packet]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for packet in packets {
        packet.encode(&mut out);
    }
    out.to_vec()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn seed_files_are_the_encoded_seed_packets() {
    let seeds = dir("seeds");
    let write = std::env::var_os("WRITE_SEEDS").is_some();
    if write {
        std::fs::create_dir_all(&seeds).expect("create seeds/decode");
    }
    let mut expected_names = Vec::new();
    for (name, packets) in seed_packets() {
        let path = seeds.join(name);
        let bytes = encode(&packets);
        if write {
            std::fs::write(&path, &bytes).expect("write seed");
        }
        let on_disk = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; rerun with WRITE_SEEDS=1", path.display()));
        assert_eq!(on_disk, bytes, "{name} is stale; rerun with WRITE_SEEDS=1");
        expected_names.push(path);
    }
    expected_names.sort();
    assert_eq!(
        files(&seeds),
        expected_names,
        "seeds/decode has stray files"
    );
}

/// Checked from the packets rather than the files, which the test above
/// compares with them (and may be rewriting meanwhile).
#[test]
fn every_seed_passes_the_checks() {
    let mut stream = Vec::new();
    for (_, packets) in seed_packets() {
        let bytes = encode(&packets);
        broker_fuzz::check_decode(&bytes);
        stream.extend_from_slice(&bytes);
    }
    // All seeds back to back, as one long-lived connection would send them.
    broker_fuzz::check_decode(&stream);
}

/// Inputs that once failed the checks (minimised crash files), kept so each
/// fix stays fixed; each also has a codec test named after the bug.
#[test]
fn every_regression_input_passes_the_checks() {
    for path in files(&dir("regressions")) {
        let bytes = std::fs::read(&path).expect("read regression input");
        broker_fuzz::check_decode(&bytes);
    }
}

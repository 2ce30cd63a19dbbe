//! UTF-8 string rules (1.5.3), checked in every place a string appears.

use super::*;

type Builder = fn(&[u8]) -> Vec<u8>;

fn connect(flags: u8, payload: &[&[u8]]) -> Vec<u8> {
    let mut body = field(b"MQTT");
    body.extend_from_slice(&[0x04, flags, 0x00, 0x3c]);
    for part in payload {
        body.extend_from_slice(part);
    }
    frame(0x10, &body)
}

/// Each place a string can go: the packet built around `s`, and the error's
/// packet type and field name.
fn places() -> [(Builder, PacketType, &'static str); 6] {
    [
        (
            |s| connect(0x02, &[&field(s)]),
            PacketType::Connect,
            "client identifier",
        ),
        (
            |s| connect(0x06, &[&field(b"id"), &field(s), &field(b"m")]),
            PacketType::Connect,
            "will topic",
        ),
        (
            |s| connect(0x82, &[&field(b"id"), &field(s)]),
            PacketType::Connect,
            "user name",
        ),
        (|s| frame(0x30, &field(s)), PacketType::Publish, "topic"),
        (
            |s| frame(0x82, &[&[0x00, 0x01][..], &field(s), &[0x00]].concat()),
            PacketType::Subscribe,
            "topic filter",
        ),
        (
            |s| frame(0xa2, &[&[0x00, 0x01][..], &field(s)].concat()),
            PacketType::Unsubscribe,
            "topic filter",
        ),
    ]
}

#[test]
fn strings_must_be_valid_utf8() {
    let bad: [&[u8]; 6] = [
        b"\xc3\x28",         // bad continuation byte
        b"a\xed\xa0\x80",    // U+D800, a surrogate
        b"\xc0\x80",         // overlong U+0000
        b"\xf4\x90\x80\x80", // above U+10FFFF
        b"\xff",             // never valid
        b"ab\xe2\x82",       // sequence cut short
    ];
    for (build, packet, field) in places() {
        for s in bad {
            assert_eq!(
                decode_err(&build(s)),
                DecodeError::InvalidUtf8 { packet, field },
                "{s:02x?}"
            );
        }
    }
}

#[test]
fn strings_must_not_contain_u0000() {
    for (build, packet, field) in places() {
        for s in [&b"\0"[..], b"a\0b", b"ab\0"] {
            assert_eq!(
                decode_err(&build(s)),
                DecodeError::NullCharacter { packet, field },
                "{s:02x?}"
            );
        }
    }
}

#[test]
fn byte_order_mark_is_kept() {
    // MQTT-1.5.3-3: U+FEFF must not be skipped or stripped.
    for (build, _, _) in places() {
        let bytes = build("\u{feff}x".as_bytes());
        let text = match decode_ok(&bytes) {
            Packet::Connect(c) => c
                .will
                .map(|w| w.topic)
                .or(c.username)
                .unwrap_or(c.client_id),
            Packet::Publish(p) => p.topic,
            Packet::Subscribe(s) => s.filters[0].0.clone(),
            Packet::Unsubscribe(u) => u.filters[0].clone(),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(text, "\u{feff}x");
    }
}

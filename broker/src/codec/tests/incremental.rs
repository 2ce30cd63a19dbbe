//! Decoding from a stream that arrives in pieces.

use super::*;

#[test]
fn one_byte_at_a_time_returns_none_until_complete() {
    for packet in samples() {
        let bytes = encode(&packet);
        let mut buf = BytesMut::new();
        let (last, head) = bytes.split_last().unwrap();
        for &byte in head {
            buf.extend_from_slice(&[byte]);
            let before = buf.clone();
            assert_eq!(decode(&mut buf, MAX), Ok(None), "{packet:?}");
            assert_eq!(buf, before, "incomplete input must not be consumed");
        }
        buf.extend_from_slice(&[*last]);
        assert_eq!(decode(&mut buf, MAX), Ok(Some(packet)));
        assert!(buf.is_empty());
    }
}

#[test]
fn two_packets_in_one_buffer_decode_in_order() {
    let first = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "a/b".into(),
        pkid: 3,
        payload: Bytes::from_static(b"on"),
    });
    let second = Packet::Pingreq;
    let third = encode(&Packet::Puback(3));
    let mut buf = BytesMut::new();
    first.encode(&mut buf);
    second.encode(&mut buf);
    // Half of a third packet stays put for the next read.
    buf.extend_from_slice(&third[..2]);

    assert_eq!(decode(&mut buf, MAX), Ok(Some(first)));
    assert_eq!(decode(&mut buf, MAX), Ok(Some(second)));
    assert_eq!(decode(&mut buf, MAX), Ok(None));
    assert_eq!(buf.to_vec(), third[..2]);
    buf.extend_from_slice(&third[2..]);
    assert_eq!(decode(&mut buf, MAX), Ok(Some(Packet::Puback(3))));
    assert!(buf.is_empty());
}

#[test]
fn maximum_remaining_length_rejected_from_header_alone() {
    let mut buf = BytesMut::from(&[0x30, 0xff, 0xff, 0xff, 0x7f][..]);
    assert_eq!(
        decode(&mut buf, 1024),
        Err(DecodeError::PacketTooLarge {
            size: 268_435_455 + 5,
            max: 1024
        })
    );
}

#[test]
fn size_is_judged_before_the_body_arrives() {
    // 200 bytes announced, none sent: too large for 100, awaited under 1000.
    let header = [0x30, 0xc8, 0x01];
    assert_eq!(
        decode(&mut BytesMut::from(&header[..]), 100),
        Err(DecodeError::PacketTooLarge {
            size: 203,
            max: 100
        })
    );
    assert_eq!(decode(&mut BytesMut::from(&header[..]), 1000), Ok(None));
}

#[test]
fn partial_remaining_length_waits() {
    for partial in [&[0x30][..], &[0x30, 0x80], &[0x30, 0x80, 0x80, 0x80]] {
        assert_eq!(decode(&mut BytesMut::from(partial), MAX), Ok(None));
    }
}

#[test]
fn empty_buffer_waits() {
    assert_eq!(decode(&mut BytesMut::new(), MAX), Ok(None));
}

#[test]
fn small_packets_leave_the_read_buffer_reusable() {
    let mut buf = BytesMut::with_capacity(4096);
    let start = buf.as_ptr();
    let publish = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: true,
        topic: "Kitchen/Fridge/temperature".into(),
        pkid: 0,
        payload: Bytes::from_static(b"4.5"),
    });
    publish.encode(&mut buf);
    // Kept, as a retained message would be.
    let kept = decode(&mut buf, MAX).unwrap().unwrap();
    assert_eq!(kept, publish);
    // The whole buffer is free again: the next read fills it from the start.
    buf.reserve(4096);
    assert_eq!(buf.as_ptr(), start);
}

#[test]
fn large_packets_share_the_read_buffer() {
    let payload = Bytes::from(vec![7u8; 4000]);
    let mut buf = BytesMut::with_capacity(8192);
    Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: "big".into(),
        pkid: 0,
        payload: payload.clone(),
    })
    .encode(&mut buf);
    let start = buf.as_ptr() as usize;
    let Packet::Publish(p) = decode(&mut buf, MAX).unwrap().unwrap() else {
        panic!("not a publish");
    };
    assert_eq!(p.payload, payload);
    let at = p.payload.as_ptr() as usize;
    assert!(at > start && at < start + 8192, "payload was copied");
}

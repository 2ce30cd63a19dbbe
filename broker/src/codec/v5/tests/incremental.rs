//! Decoding from a stream that arrives in pieces, and the maximum packet size.

use super::*;

#[test]
fn every_split_point_waits_then_decodes() {
    for (sender, packet) in samples() {
        let bytes = encode(&packet);
        for split in 0..bytes.len() {
            let mut buf = BytesMut::from(&bytes[..split]);
            assert_eq!(
                decode(&mut buf, MAX, sender),
                Ok(None),
                "{packet:?} cut at {split}"
            );
            assert_eq!(
                &buf[..],
                &bytes[..split],
                "incomplete input must not be consumed"
            );
            buf.extend_from_slice(&bytes[split..]);
            assert_eq!(
                decode(&mut buf, MAX, sender),
                Ok(Some(packet.clone())),
                "cut at {split}"
            );
            assert!(buf.is_empty());
        }
    }
}

#[test]
fn one_byte_at_a_time_returns_none_until_complete() {
    for (sender, packet) in samples() {
        let bytes = encode(&packet);
        let mut buf = BytesMut::new();
        let (last, head) = bytes.split_last().unwrap();
        for &byte in head {
            buf.extend_from_slice(&[byte]);
            assert_eq!(decode(&mut buf, MAX, sender), Ok(None), "{packet:?}");
        }
        buf.extend_from_slice(&[*last]);
        assert_eq!(decode(&mut buf, MAX, sender), Ok(Some(packet)));
        assert!(buf.is_empty());
    }
}

#[test]
fn two_packets_and_half_a_third_in_one_buffer() {
    let samples = client_samples();
    let third = encode(&samples[6]);
    let mut buf = BytesMut::new();
    samples[4].encode(&mut buf);
    samples[15].encode(&mut buf);
    buf.extend_from_slice(&third[..2]);
    assert_eq!(
        decode(&mut buf, MAX, Sender::Client),
        Ok(Some(samples[4].clone()))
    );
    assert_eq!(
        decode(&mut buf, MAX, Sender::Client),
        Ok(Some(samples[15].clone()))
    );
    assert_eq!(decode(&mut buf, MAX, Sender::Client), Ok(None));
    buf.extend_from_slice(&third[2..]);
    assert_eq!(
        decode(&mut buf, MAX, Sender::Client),
        Ok(Some(samples[6].clone()))
    );
}

#[test]
fn maximum_packet_size_is_exact_and_judged_from_the_fixed_header() {
    for (sender, packet) in samples() {
        let bytes = encode(&packet);
        let size = bytes.len();
        assert_eq!(
            decode(&mut BytesMut::from(&bytes[..]), size, sender),
            Ok(Some(packet.clone()))
        );
        let too_large = Err(DecodeError::PacketTooLarge {
            size,
            max: size - 1,
        });
        assert_eq!(
            decode(&mut BytesMut::from(&bytes[..]), size - 1, sender),
            too_large
        );
        let header_len = 1 + bytes[1..].iter().position(|b| b & 0x80 == 0).unwrap() + 1;
        assert_eq!(
            decode(&mut BytesMut::from(&bytes[..header_len]), size - 1, sender),
            too_large
        );
    }
    let err = DecodeError::PacketTooLarge {
        size: 268_435_460,
        max: 1024,
    };
    assert_eq!(
        decode(
            &mut BytesMut::from(&[0x30, 0xff, 0xff, 0xff, 0x7f][..]),
            1024,
            Sender::Client
        ),
        Err(err.clone())
    );
    assert_eq!(err.disconnect_reason(), DisconnectReason::PacketTooLarge);
}

#[test]
fn partial_remaining_length_waits() {
    for partial in [&[0x30][..], &[0x30, 0x80], &[0x30, 0x80, 0x80, 0x80]] {
        assert_eq!(
            decode(&mut BytesMut::from(partial), MAX, Sender::Client),
            Ok(None)
        );
    }
    assert_eq!(decode(&mut BytesMut::new(), MAX, Sender::Client), Ok(None));
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
        properties: PublishProperties::default(),
        payload: payload.clone(),
    })
    .encode(&mut buf);
    let start = buf.as_ptr() as usize;
    let Packet::Publish(p) = decode(&mut buf, MAX, Sender::Client).unwrap().unwrap() else {
        panic!("not a PUBLISH");
    };
    assert_eq!(p.payload, payload);
    let at = p.payload.as_ptr() as usize;
    assert!(at > start && at < start + 8192, "payload was copied");
}

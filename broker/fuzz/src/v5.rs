//! What `broker::codec::v5::decode` must do with any byte stream a client or a server sends.
//!
//! [`check_decode_v5`] is the body of the `decode_v5` fuzz target. It decodes the input once
//! as a client's stream and once as a server's, and checks, as [`crate::check_decode`] does
//! for MQTT 3.1.1:
//! - a packet takes exactly the bytes its fixed header announces and decodes the same from
//!   them alone; "need more bytes" leaves the buffer as it was;
//! - feeding the stream one byte at a time gives the same packets and the same final error
//!   as handing it over whole;
//! - a decoded packet re-encodes to the same first byte and the same bytes, up to the two
//!   freedoms the encoder takes: it leaves out an acknowledgement's or DISCONNECT's optional
//!   Reason Code 0x00 and Property Length 0 at the end, and writes properties in ascending
//!   identifier order; and the re-encoding decodes to the same packet;
//! - the maximum packet size holds to the byte, judged from the fixed header alone;
//! - an error that names a packet type names the one on the wire, renders a message and
//!   names a failing Reason Code.

use std::ops::Range;

use broker::codec::v5::{decode, DecodeError, Packet, Sender};
use bytes::{BufMut, BytesMut};

const NO_LIMIT: usize = usize::MAX;

/// Checks every property above on `data`, as each side's stream; panics on the first that
/// fails.
pub fn check_decode_v5(data: &[u8]) {
    for sender in [Sender::Client, Sender::Server] {
        check_stream(data, sender);
    }
}

fn check_stream(data: &[u8], sender: Sender) {
    let whole = decode_whole(data, sender);
    let bytewise = decode_bytewise(data, sender);
    assert_eq!(
        whole, bytewise,
        "{sender}: whole and one byte at a time differ"
    );
    for (packet, range) in &whole.packets {
        let frame = data
            .get(range.clone())
            .unwrap_or_else(|| panic!("packet range {range:?} outside the input"));
        check_packet(packet, frame, sender);
    }
    let rest = data.get(whole.stopped_at..).unwrap_or_default();
    check_stop(&whole.end, rest, sender);
}

#[derive(Debug, PartialEq, Eq)]
enum End {
    NeedMore(usize),
    Error(DecodeError),
}

#[derive(Debug, PartialEq, Eq)]
struct Run {
    packets: Vec<(Packet, Range<usize>)>,
    stopped_at: usize,
    end: End,
}

fn decode_whole(data: &[u8], sender: Sender) -> Run {
    let mut buf = BytesMut::from(data);
    let mut packets = Vec::new();
    let mut offset = 0;
    loop {
        let before = buf.len();
        match decode(&mut buf, NO_LIMIT, sender) {
            Ok(Some(packet)) => {
                let used = before - buf.len();
                let rest = data.get(offset..).unwrap_or_default();
                let announced = frame_len(rest)
                    .unwrap_or_else(|| panic!("{packet:?} decoded without a whole fixed header"));
                assert_eq!(
                    used, announced,
                    "{packet:?} took {used} bytes of {announced}"
                );
                packets.push((packet, offset..offset + used));
                offset += used;
            }
            Ok(None) => {
                let rest = data.get(offset..).unwrap_or_default();
                assert_eq!(&buf[..], rest, "\"need more bytes\" changed the buffer");
                if let Some(announced) = frame_len(rest) {
                    assert!(rest.len() < announced, "a whole frame is buffered");
                }
                return Run {
                    packets,
                    stopped_at: offset,
                    end: End::NeedMore(buf.len()),
                };
            }
            Err(e) => {
                return Run {
                    packets,
                    stopped_at: offset,
                    end: End::Error(e),
                }
            }
        }
    }
}

fn decode_bytewise(data: &[u8], sender: Sender) -> Run {
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    let mut start = 0;
    for (index, &byte) in data.iter().enumerate() {
        buf.put_u8(byte);
        let before = buf.len();
        match decode(&mut buf, NO_LIMIT, sender) {
            Ok(Some(packet)) => {
                assert!(
                    buf.is_empty(),
                    "{packet:?} completed with bytes still buffered"
                );
                packets.push((packet, start..index + 1));
                start = index + 1;
            }
            Ok(None) => assert_eq!(buf.len(), before, "\"need more bytes\" consumed input"),
            Err(e) => {
                return Run {
                    packets,
                    stopped_at: start,
                    end: End::Error(e),
                }
            }
        }
    }
    Run {
        packets,
        stopped_at: start,
        end: End::NeedMore(buf.len()),
    }
}

/// Whether `packet` is one whose optional tail the encoder leaves out.
fn has_optional_tail(packet: &Packet) -> bool {
    matches!(
        packet,
        Packet::Puback(_)
            | Packet::Pubrec(_)
            | Packet::Pubrel(_)
            | Packet::Pubcomp(_)
            | Packet::Disconnect(_)
    )
}

fn check_packet(packet: &Packet, frame: &[u8], sender: Sender) {
    let (first, header_len, remaining) =
        fixed_header(frame).unwrap_or_else(|| panic!("{packet:?}: no fixed header"));
    let size = header_len + remaining;
    assert_eq!(
        packet.packet_type() as u8,
        first >> 4,
        "{packet:?} from {first:#04x}"
    );

    let mut alone = BytesMut::from(frame);
    assert_eq!(
        decode(&mut alone, NO_LIMIT, sender),
        Ok(Some(packet.clone()))
    );
    assert!(alone.is_empty());

    let mut encoded = BytesMut::new();
    packet.encode(&mut encoded);
    assert_eq!(encoded.len(), packet.encoded_len(), "{packet:?}");
    let (encoded_first, encoded_header, encoded_remaining) = fixed_header(&encoded)
        .unwrap_or_else(|| panic!("{packet:?} encoded without a fixed header"));
    assert_eq!(encoded_first, first, "{packet:?}: first byte re-encoded");
    let body = frame.get(header_len..).unwrap_or_default();
    let encoded_body = encoded.get(encoded_header..).unwrap_or_default();
    if body != encoded_body {
        if has_optional_tail(packet) && encoded_remaining < remaining {
            // Only a trailing Reason Code 0x00 and Property Length 0 may be left out.
            let (kept, dropped) = body.split_at(encoded_remaining);
            assert_eq!(kept, encoded_body, "{packet:?}: body re-encoded");
            assert!(
                dropped.iter().all(|&b| b == 0),
                "{packet:?}: dropped {dropped:02x?}"
            );
        } else {
            // Properties written in another order: the same bytes, rearranged.
            assert_eq!(encoded_remaining, remaining, "{packet:?}: remaining length");
            let mut a = body.to_vec();
            let mut b = encoded_body.to_vec();
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "{packet:?}: body re-encoded");
        }
    }
    let reencoded = encoded.to_vec();
    assert_eq!(
        decode(&mut encoded, NO_LIMIT, sender),
        Ok(Some(packet.clone())),
        "re-encoded as {reencoded:02x?}"
    );

    let mut at_limit = BytesMut::from(frame);
    assert_eq!(
        decode(&mut at_limit, size, sender),
        Ok(Some(packet.clone()))
    );
    let too_large = DecodeError::PacketTooLarge {
        size,
        max: size - 1,
    };
    let mut over = BytesMut::from(frame);
    assert_eq!(decode(&mut over, size - 1, sender), Err(too_large.clone()));
    let mut header_only = BytesMut::from(frame.get(..header_len).unwrap_or_default());
    assert_eq!(decode(&mut header_only, size - 1, sender), Err(too_large));
}

fn check_stop(end: &End, rest: &[u8], sender: Sender) {
    if let End::Error(e) = end {
        assert!(!e.to_string().is_empty(), "{e:?} has no message");
        assert!(e.disconnect_reason().is_error(), "{e:?}");
        assert!(e.connack_reason().is_error(), "{e:?}");
        if let (Some(named), Some(&first)) = (e.packet(), rest.first()) {
            assert_eq!(
                named as u8,
                first >> 4,
                "{e:?} for a first byte of {first:#04x}"
            );
        }
    }
    let Some((_, header_len, remaining)) = fixed_header(rest) else {
        return;
    };
    let size = header_len + remaining;
    let frame = rest.get(..size).unwrap_or(rest);

    let mut alone = BytesMut::from(frame);
    let alone = match decode(&mut alone, NO_LIMIT, sender) {
        Ok(None) => End::NeedMore(alone.len()),
        Ok(Some(packet)) => panic!("{packet:?} decoded from a stream that stopped before it"),
        Err(e) => End::Error(e),
    };
    match end {
        End::Error(e) => assert_eq!(alone, End::Error(e.clone())),
        End::NeedMore(_) => assert_eq!(alone, End::NeedMore(frame.len())),
    }

    let mut at_limit = BytesMut::from(rest);
    let at_limit = match decode(&mut at_limit, size, sender) {
        Ok(None) => End::NeedMore(at_limit.len()),
        Ok(Some(packet)) => panic!("{packet:?} decoded from a stream that stopped before it"),
        Err(e) => End::Error(e),
    };
    assert_eq!(&at_limit, end, "a limit of exactly {size} bytes");
    let expected = match end {
        End::Error(e) if decided_by_fixed_header(e) => e.clone(),
        _ => DecodeError::PacketTooLarge {
            size,
            max: size - 1,
        },
    };
    for available in [header_len, rest.len()] {
        let mut over = BytesMut::from(rest.get(..available).unwrap_or(rest));
        assert_eq!(
            decode(&mut over, size - 1, sender),
            Err(expected.clone()),
            "a limit of {} bytes with {available} bytes buffered",
            size - 1
        );
    }
}

/// The first byte, the fixed header's length and the remaining length, read here from the
/// specification's layout (2.1.4, 1.5.5) rather than by the codec, or `None` if the fixed
/// header is incomplete or its length is malformed (including not in its shortest form).
fn fixed_header(bytes: &[u8]) -> Option<(u8, usize, usize)> {
    let (&first, rest) = bytes.split_first()?;
    let mut remaining = 0;
    for (index, &byte) in rest.iter().take(4).enumerate() {
        remaining += usize::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            if index > 0 && byte == 0 {
                return None;
            }
            return Some((first, 2 + index, remaining));
        }
    }
    None
}

fn frame_len(bytes: &[u8]) -> Option<usize> {
    fixed_header(bytes).map(|(_, header_len, remaining)| header_len + remaining)
}

/// Errors the codec reports from the fixed header, before the size limit.
fn decided_by_fixed_header(e: &DecodeError) -> bool {
    matches!(
        e,
        DecodeError::ReservedPacketType(_)
            | DecodeError::InvalidFixedHeaderFlags { .. }
            | DecodeError::InvalidPublishQos
            | DecodeError::DupWithQos0
            | DecodeError::WrongDirection { .. }
            | DecodeError::MalformedVariableByteInteger {
                field: "remaining length",
                ..
            }
            | DecodeError::InvalidRemainingLength { .. }
    )
}

//! What `broker::codec::decode` must do with any byte stream a client sends.
//!
//! [`check_decode`] is the body of the `decode` fuzz target and panics on the
//! first property that fails. The tests in `tests/` run it on a stable
//! toolchain over the committed seeds and regression inputs.
//!
//! The properties, for a stream decoded packet after packet:
//! - a packet takes exactly the bytes its fixed header announces, never more
//!   or fewer, and decodes the same from those bytes alone, so it never looks
//!   past its frame; "need more bytes" leaves the buffer as it was;
//! - every strict prefix of a frame is "need more bytes", never an error or a
//!   different packet, and feeding the stream one byte at a time gives the
//!   same packets and the same final error as handing it over whole;
//! - a decoded packet encodes back to the same first byte and a byte-identical
//!   body (only the remaining length may be written shorter, and an MQTT 3.1
//!   CONNECT's flags lose the bits 3.1 leaves unused), which decodes to the
//!   same packet;
//! - the maximum packet size is honoured to the byte: a frame of `n` bytes is
//!   accepted with a limit of `n` and refused as too large with `n - 1`, from
//!   its fixed header alone, before its body has arrived;
//! - an error that names a packet type names the one on the wire, and renders
//!   a message.

pub mod v5;

use std::ops::Range;

use broker::codec::{decode, DecodeError, Packet, PacketType, Protocol};
use bytes::{BufMut, BytesMut};

/// No limit on packet size: size limits are checked frame by frame instead.
const NO_LIMIT: usize = usize::MAX;

/// Checks every property above on `data`; panics with the first that fails.
pub fn check_decode(data: &[u8]) {
    let whole = decode_whole(data);
    let bytewise = decode_bytewise(data);
    assert_eq!(
        whole, bytewise,
        "decoding the stream whole and one byte at a time differ"
    );
    for (packet, range) in &whole.packets {
        let frame = data
            .get(range.clone())
            .unwrap_or_else(|| panic!("packet range {range:?} outside the input"));
        check_packet(packet, frame);
    }
    let rest = data.get(whole.stopped_at..).unwrap_or_default();
    check_stop(&whole.end, rest);
}

/// How a stream decode stopped.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// `Ok(None)` with this many bytes left in the buffer.
    NeedMore(usize),
    Error(DecodeError),
}

#[derive(Debug, PartialEq, Eq)]
struct Run {
    /// Each packet with the input bytes it was decoded from.
    packets: Vec<(Packet, Range<usize>)>,
    /// Where the packet that did not come out starts.
    stopped_at: usize,
    end: End,
}

/// Decodes packets off the front of the whole input until it stops.
fn decode_whole(data: &[u8]) -> Run {
    let mut buf = BytesMut::from(data);
    let mut packets = Vec::new();
    let mut offset = 0;
    loop {
        let before = buf.len();
        match decode(&mut buf, NO_LIMIT) {
            Ok(Some(packet)) => {
                let used = before - buf.len();
                let rest = data.get(offset..).unwrap_or_default();
                let announced = frame_len(rest)
                    .unwrap_or_else(|| panic!("{packet:?} decoded without a whole fixed header"));
                assert_eq!(
                    used, announced,
                    "{packet:?} took {used} bytes, its fixed header announces {announced}"
                );
                packets.push((packet, offset..offset + used));
                offset += used;
            }
            Ok(None) => {
                let rest = data.get(offset..).unwrap_or_default();
                assert_eq!(&buf[..], rest, "\"need more bytes\" changed the buffer");
                if let Some(announced) = frame_len(rest) {
                    assert!(
                        rest.len() < announced,
                        "a whole frame of {announced} bytes is buffered, yet more are asked for"
                    );
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

/// Feeds the input one byte at a time, decoding after each byte, as a slow
/// network would deliver it.
fn decode_bytewise(data: &[u8]) -> Run {
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    let mut start = 0;
    for (index, &byte) in data.iter().enumerate() {
        buf.put_u8(byte);
        let before = buf.len();
        match decode(&mut buf, NO_LIMIT) {
            Ok(Some(packet)) => {
                // Earlier bytes were all "need more", so the packet must end
                // on the byte just added.
                assert!(
                    buf.is_empty(),
                    "{packet:?} completed with {} bytes still buffered",
                    buf.len()
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

/// An MQTT 3.1 CONNECT body's flags (after the 8-byte protocol name and the level) as the
/// encoder writes them: without the reserved bit, and without will QoS and retain when there
/// is no will. The decoder ignores those bits in 3.1, where they are unused.
fn clear_unused_v31_flags(body: &mut [u8]) {
    const FLAGS: usize = 9;
    if let Some(flags) = body.get_mut(FLAGS) {
        *flags &= !0x01;
        if *flags & 0x04 == 0 {
            *flags &= !0x38;
        }
    }
}

/// Checks one accepted packet against the bytes it came from.
fn check_packet(packet: &Packet, frame: &[u8]) {
    let (first, header_len, remaining) =
        fixed_header(frame).unwrap_or_else(|| panic!("{packet:?}: no fixed header"));
    let size = header_len + remaining;
    assert_eq!(
        packet.packet_type() as u8,
        first >> 4,
        "{packet:?} decoded from a first byte of {first:#04x}"
    );

    // The frame alone decodes to the same packet: nothing after it was used.
    let mut alone = BytesMut::from(frame);
    assert_eq!(decode(&mut alone, NO_LIMIT), Ok(Some(packet.clone())));
    assert!(alone.is_empty());

    // Re-encoding gives back the same bytes, up to the remaining length's width.
    let mut encoded = BytesMut::new();
    packet.encode(&mut encoded);
    assert_eq!(encoded.len(), packet.encoded_len(), "{packet:?}");
    let (encoded_first, encoded_header, encoded_remaining) = fixed_header(&encoded)
        .unwrap_or_else(|| panic!("{packet:?} encoded without a fixed header"));
    assert_eq!(encoded_first, first, "{packet:?}: first byte re-encoded");
    assert_eq!(encoded_remaining, remaining, "{packet:?}: remaining length");
    let mut body = frame.get(header_len..).unwrap_or_default().to_vec();
    if let Packet::Connect(c) = packet {
        if c.protocol == Protocol::V31 {
            clear_unused_v31_flags(&mut body);
        }
    }
    assert_eq!(
        encoded.get(encoded_header..),
        Some(body.as_slice()),
        "{packet:?}: body re-encoded"
    );
    let reencoded = encoded.to_vec();
    assert_eq!(
        decode(&mut encoded, NO_LIMIT),
        Ok(Some(packet.clone())),
        "re-encoded as {reencoded:02x?}"
    );
    assert!(encoded.is_empty());

    // The size limit is exact, and judged from the fixed header alone.
    let mut at_limit = BytesMut::from(frame);
    assert_eq!(decode(&mut at_limit, size), Ok(Some(packet.clone())));
    let too_large = DecodeError::PacketTooLarge {
        size,
        max: size - 1,
    };
    let mut over = BytesMut::from(frame);
    assert_eq!(decode(&mut over, size - 1), Err(too_large.clone()));
    let mut header_only = BytesMut::from(frame.get(..header_len).unwrap_or_default());
    assert_eq!(decode(&mut header_only, size - 1), Err(too_large));
}

/// Checks where the stream decode stopped: `rest` is the input from the first
/// byte of the packet that did not come out.
fn check_stop(end: &End, rest: &[u8]) {
    if let End::Error(e) = end {
        assert!(!e.to_string().is_empty(), "{e:?} has no message");
        if let (Some(named), Some(&first)) = (named_packet(e), rest.first()) {
            assert_eq!(
                named as u8,
                first >> 4,
                "{e:?} names {named} for a first byte of {first:#04x}"
            );
        }
    }
    let Some((_, header_len, remaining)) = fixed_header(rest) else {
        return;
    };
    let size = header_len + remaining;
    let frame = rest.get(..size).unwrap_or(rest);

    // The frame's own bytes decide the outcome, not those after it.
    let mut alone = BytesMut::from(frame);
    let alone = match decode(&mut alone, NO_LIMIT) {
        Ok(None) => End::NeedMore(alone.len()),
        Ok(Some(packet)) => panic!("{packet:?} decoded from a stream that stopped before it"),
        Err(e) => End::Error(e),
    };
    match end {
        End::Error(e) => assert_eq!(alone, End::Error(e.clone())),
        End::NeedMore(_) => assert_eq!(alone, End::NeedMore(frame.len())),
    }

    // A limit of exactly the frame's size changes nothing; one byte less
    // refuses it as too large unless the fixed header is already wrong.
    let mut at_limit = BytesMut::from(rest);
    let at_limit = match decode(&mut at_limit, size) {
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
            decode(&mut over, size - 1),
            Err(expected.clone()),
            "a limit of {} bytes with {available} bytes buffered",
            size - 1
        );
    }
}

/// The first byte, the fixed header's length and the remaining length, read
/// here from the specification's layout (2.2) rather than by the codec, or
/// `None` if the fixed header is incomplete or its length is malformed.
fn fixed_header(bytes: &[u8]) -> Option<(u8, usize, usize)> {
    let (&first, rest) = bytes.split_first()?;
    let mut remaining = 0;
    for (index, &byte) in rest.iter().take(4).enumerate() {
        remaining += usize::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Some((first, 2 + index, remaining));
        }
    }
    None
}

/// Bytes the packet at the front of `bytes` takes on the wire.
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
            | DecodeError::MalformedRemainingLength
            | DecodeError::InvalidRemainingLength { .. }
    )
}

/// The packet type an error is about, where it says.
fn named_packet(e: &DecodeError) -> Option<PacketType> {
    use DecodeError as E;
    Some(match e {
        E::InvalidFixedHeaderFlags { packet, .. }
        | E::InvalidRemainingLength { packet, .. }
        | E::UnexpectedEnd { packet, .. }
        | E::TrailingBytes { packet, .. }
        | E::InvalidUtf8 { packet, .. }
        | E::NullCharacter { packet, .. }
        | E::EmptyTopicName { packet, .. }
        | E::WildcardInTopicName { packet, .. }
        | E::ZeroPacketId { packet } => *packet,
        E::InvalidProtocolName(_)
        | E::UnsupportedProtocolLevel(_)
        | E::ConnectReservedFlag
        | E::WillQosWithoutWill(_)
        | E::WillRetainWithoutWill
        | E::InvalidWillQos
        | E::PasswordWithoutUsername => PacketType::Connect,
        E::ConnackReservedFlags(_)
        | E::InvalidConnectReturnCode(_)
        | E::SessionPresentWithRefusal(_) => PacketType::Connack,
        E::InvalidPublishQos | E::DupWithQos0 => PacketType::Publish,
        E::EmptySubscribe | E::SubscribeReservedBits(_) | E::InvalidRequestedQos => {
            PacketType::Subscribe
        }
        E::EmptySuback | E::InvalidSubackCode(_) => PacketType::Suback,
        E::EmptyUnsubscribe => PacketType::Unsubscribe,
        E::ReservedPacketType(_) | E::MalformedRemainingLength | E::PacketTooLarge { .. } => {
            return None
        }
    })
}

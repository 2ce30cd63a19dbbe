//! Variable Byte Integers (1.5.5): the remaining length, property lengths, property
//! identifiers and Subscription Identifiers.

use bytes::{BufMut, BytesMut};

/// Largest value four bytes can hold (1.5.5): also the largest remaining length and
/// Subscription Identifier.
pub const MAX_VARIABLE_BYTE_INTEGER: u32 = 268_435_455;

/// Why bytes are not a Variable Byte Integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Malformed;

/// Decodes the integer at the front of `bytes`: its value and the bytes it took, or `None`
/// if it is not complete yet.
///
/// Strict: at most four bytes (1.5.5), and in its shortest form (MQTT-1.5.5-1), which is
/// what a last byte of 0 after a continuation breaks (`0x80 0x00` for 0).
pub(super) fn decode(bytes: &[u8]) -> Result<Option<(u32, usize)>, Malformed> {
    let mut value = 0u32;
    for (index, &byte) in bytes.iter().take(4).enumerate() {
        value |= u32::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            if index > 0 && byte == 0 {
                return Err(Malformed);
            }
            return Ok(Some((value, index + 1)));
        }
    }
    // Four bytes all with the continuation bit set: a fifth is never allowed.
    if bytes.len() >= 4 {
        Err(Malformed)
    } else {
        Ok(None)
    }
}

/// Bytes `value` takes on the wire.
pub(super) fn len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes `value`, which must not exceed [`MAX_VARIABLE_BYTE_INTEGER`].
pub(super) fn write(out: &mut BytesMut, value: usize) {
    debug_assert!(
        value <= MAX_VARIABLE_BYTE_INTEGER as usize,
        "too large for a variable byte integer"
    );
    let mut rest = value;
    loop {
        // Truncation is the point: the low seven bits go in each byte.
        let mut byte = (rest & 0x7f) as u8;
        rest >>= 7;
        if rest > 0 {
            byte |= 0x80;
        }
        out.put_u8(byte);
        if rest == 0 {
            break;
        }
    }
}

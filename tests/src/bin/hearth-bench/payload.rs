//! Payload layout: sequence number and send timestamp, then zero padding.

/// Bytes taken by the header: u64 sequence + u64 send time, little endian.
pub const HEADER_LEN: usize = 16;

/// Builds one payload of `len` bytes (at least `HEADER_LEN`).
pub fn encode(seq: u64, sent_ns: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len.max(HEADER_LEN)];
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    buf[8..HEADER_LEN].copy_from_slice(&sent_ns.to_le_bytes());
    buf
}

/// Returns `(seq, sent_ns)`, or `None` for a payload this program did not make.
pub fn decode(buf: &[u8]) -> Option<(u64, u64)> {
    let seq = buf.get(..8)?.try_into().ok()?;
    let sent = buf.get(8..HEADER_LEN)?.try_into().ok()?;
    Some((u64::from_le_bytes(seq), u64::from_le_bytes(sent)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_padding() {
        let buf = encode(7, 123_456, 64);
        assert_eq!(buf.len(), 64);
        assert_eq!(decode(&buf), Some((7, 123_456)));
        assert_eq!(encode(1, 2, 3).len(), HEADER_LEN);
        assert_eq!(decode(&[1, 2, 3]), None);
    }
}

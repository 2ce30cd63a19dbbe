//! WebSocket frames (RFC 6455 section 5) as the server's data path reads and writes them:
//! headers parsed from the bytes received, payloads unmasked in place, and headers written in
//! front of outgoing payloads. No allocation per frame.

use thiserror::Error;

pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// Close codes (RFC 6455 section 7.4.1) the server sends.
pub const CLOSE_NORMAL: u16 = 1000;
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
pub const CLOSE_UNSUPPORTED_DATA: u16 = 1003;
pub const CLOSE_TOO_BIG: u16 = 1009;

/// Control frames carry at most this much (RFC 6455 section 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// One frame's header, as a client sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub fin: bool,
    pub opcode: u8,
    pub mask: [u8; 4],
    pub payload_len: u64,
    /// Bytes the header took.
    pub len: usize,
}

impl Header {
    pub fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }
}

/// A frame no server may accept; the connection is closed with `close_code`.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("reserved bits set in a WebSocket frame, but no extension was negotiated")]
    ReservedBits,
    #[error("WebSocket frame with reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    #[error("unmasked WebSocket frame from the client (RFC 6455 section 5.1)")]
    Unmasked,
    #[error("WebSocket control frame of {0} bytes or fragmented (at most 125, unfragmented)")]
    BadControl(u64),
    #[error("WebSocket frame length with the most significant bit set")]
    BadLength,
}

/// Parses the header at the start of `buf`; `Ok(None)` until all of it has arrived.
pub fn parse_header(buf: &[u8]) -> Result<Option<Header>, FrameError> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(FrameError::ReservedBits);
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0f;
    if !matches!(
        opcode,
        OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG
    ) {
        return Err(FrameError::ReservedOpcode(opcode));
    }
    if b1 & 0x80 == 0 {
        return Err(FrameError::Unmasked);
    }
    let (payload_len, at) = match b1 & 0x7f {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => {
                let len = u64::from_be_bytes(b);
                if len >> 63 != 0 {
                    return Err(FrameError::BadLength);
                }
                (len, 10)
            }
            None => return Ok(None),
        },
        short => (u64::from(short), 2),
    };
    let Some(mask) = buf
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
    else {
        return Ok(None);
    };
    let header = Header {
        fin,
        opcode,
        mask,
        payload_len,
        len: at + 4,
    };
    if header.is_control() && (!fin || payload_len > MAX_CONTROL_PAYLOAD as u64) {
        return Err(FrameError::BadControl(payload_len));
    }
    Ok(Some(header))
}

/// Unmasks `data` in place; `offset` is where `data` starts within the frame's payload.
pub fn unmask(data: &mut [u8], mask: [u8; 4], offset: u64) {
    let shift = (offset % 4) as usize;
    let key = [
        mask[shift % 4],
        mask[(shift + 1) % 4],
        mask[(shift + 2) % 4],
        mask[(shift + 3) % 4],
    ];
    let mut chunks = data.chunks_exact_mut(4);
    let word = u32::from_ne_bytes(key);
    for chunk in &mut chunks {
        let value = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) ^ word;
        chunk.copy_from_slice(&value.to_ne_bytes());
    }
    for (byte, k) in chunks.into_remainder().iter_mut().zip(key) {
        *byte ^= k;
    }
}

/// Appends the header of an unmasked, final server frame of `payload_len` bytes.
pub fn put_header(out: &mut Vec<u8>, opcode: u8, payload_len: usize) {
    out.push(0x80 | opcode);
    match payload_len {
        0..=125 => out.push(payload_len as u8),
        126..=0xffff => {
            out.push(126);
            out.extend_from_slice(&(payload_len as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&(payload_len as u64).to_be_bytes());
        }
    }
}

/// Appends a whole Close frame with `code` and a short `reason`.
pub fn put_close(out: &mut Vec<u8>, code: u16, reason: &str) {
    let reason = &reason.as_bytes()[..reason.len().min(MAX_CONTROL_PAYLOAD - 2)];
    put_header(out, OP_CLOSE, 2 + reason.len());
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(reason);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    /// A client frame: masked with `mask`.
    fn client_frame(fin: bool, opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut out = vec![u8::from(fin) << 7 | opcode];
        match payload.len() {
            0..=125 => out.push(0x80 | payload.len() as u8),
            126..=0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            }
            _ => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        let mut masked = payload.to_vec();
        unmask(&mut masked, mask, 0);
        out.extend_from_slice(&masked);
        out
    }

    #[test]
    fn headers_of_every_length_form() {
        for len in [0usize, 1, 125, 126, 65_535, 65_536] {
            let payload = vec![7u8; len];
            let frame = client_frame(true, OP_BINARY, &payload, [1, 2, 3, 4]);
            let header = parse_header(&frame).unwrap().unwrap();
            assert_eq!(header.payload_len, len as u64);
            assert_eq!(header.len + len, frame.len());
            assert!(header.fin);
            assert_eq!(header.opcode, OP_BINARY);
            // Every prefix of the header asks for more.
            for cut in 0..header.len {
                assert_eq!(parse_header(&frame[..cut]), Ok(None), "len {len} cut {cut}");
            }
        }
    }

    #[test]
    fn unmasking_in_pieces_equals_unmasking_at_once() {
        let mask = [0x12, 0x34, 0x56, 0x78];
        let original: Vec<u8> = (0..=255).collect();
        let mut whole = original.clone();
        unmask(&mut whole, mask, 0);
        let mut pieces = original.clone();
        let mut at = 0;
        for step in [1usize, 3, 7, 2, 64, 5] {
            let end = (at + step).min(pieces.len());
            unmask(&mut pieces[at..end], mask, at as u64);
            at = end;
        }
        unmask(&mut pieces[at..], mask, at as u64);
        assert_eq!(pieces, whole);
        unmask(&mut whole, mask, 0);
        assert_eq!(whole, original);
    }

    #[test]
    fn frames_no_server_may_accept() {
        let mut rsv = client_frame(true, OP_BINARY, b"x", [0; 4]);
        rsv[0] |= 0x40;
        assert_eq!(parse_header(&rsv), Err(FrameError::ReservedBits));
        let reserved = client_frame(true, 0x3, b"x", [0; 4]);
        assert_eq!(parse_header(&reserved), Err(FrameError::ReservedOpcode(3)));
        let mut unmasked = client_frame(true, OP_BINARY, b"x", [0; 4]);
        unmasked[1] &= 0x7f;
        assert_eq!(parse_header(&unmasked), Err(FrameError::Unmasked));
        let long_ping = client_frame(true, OP_PING, &[0; 126], [0; 4]);
        assert_eq!(parse_header(&long_ping), Err(FrameError::BadControl(126)));
        let fragmented_ping = client_frame(false, OP_PING, b"x", [0; 4]);
        assert_eq!(
            parse_header(&fragmented_ping),
            Err(FrameError::BadControl(1))
        );
        let mut huge = vec![0x82, 0x80 | 127];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        huge.extend_from_slice(&[0; 4]);
        assert_eq!(parse_header(&huge), Err(FrameError::BadLength));
    }

    #[test]
    fn server_headers_are_unmasked_and_final() {
        for (len, expected) in [
            (5usize, vec![0x82, 5]),
            (300, vec![0x82, 126, 0x01, 0x2c]),
            (70_000, vec![0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]),
        ] {
            let mut out = Vec::new();
            put_header(&mut out, OP_BINARY, len);
            assert_eq!(out, expected);
        }
        let mut close = Vec::new();
        put_close(&mut close, CLOSE_UNSUPPORTED_DATA, "binary only");
        assert_eq!(&close[..4], &[0x88, 13, 0x03, 0xeb]);
        assert_eq!(&close[4..], b"binary only");
    }
}

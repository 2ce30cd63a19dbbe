//! Random and mutated input must never panic, and anything accepted must survive a
//! re-encode: the same packet, the same size, the same bytes up to the two freedoms the
//! encoder takes (the optional tail of an acknowledgement, the order of properties).

use super::*;

/// xorshift64*: deterministic, so a failure reproduces exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Checks that `encoded` is `original` written the encoder's way.
fn same_up_to_form(original: &[u8], encoded: &[u8], packet: &Packet) {
    if original == encoded {
        return;
    }
    let short_forms = matches!(
        packet,
        Packet::Puback(_)
            | Packet::Pubrec(_)
            | Packet::Pubrel(_)
            | Packet::Pubcomp(_)
            | Packet::Disconnect(_)
    );
    // Both frames here are short, so their remaining length takes one byte.
    if short_forms && original.len() > encoded.len() {
        let (body, tail) = original[2..].split_at(encoded.len() - 2);
        assert_eq!(body, &encoded[2..], "{packet:?}");
        assert!(
            tail.iter().all(|&b| b == 0),
            "{original:02x?} -> {encoded:02x?}"
        );
        return;
    }
    // Properties in another order: the same bytes, rearranged.
    assert_eq!(
        original.len(),
        encoded.len(),
        "{original:02x?} -> {encoded:02x?}"
    );
    let mut a = original.to_vec();
    let mut b = encoded.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "{original:02x?} -> {encoded:02x?}");
}

/// Decodes everything in `bytes` as sent by `sender`, checking the codec's invariants.
fn check(bytes: &[u8], max: usize, sender: Sender) {
    let mut buf = BytesMut::from(bytes);
    loop {
        let before = buf.len();
        let start = bytes.len() - before;
        match decode(&mut buf, max, sender) {
            Ok(Some(packet)) => {
                let used = before - buf.len();
                assert!(used >= 2 && used <= max, "{bytes:02x?}");
                let mut again = BytesMut::new();
                packet.encode(&mut again);
                assert_eq!(again.len(), packet.encoded_len());
                same_up_to_form(&bytes[start..start + used], &again, &packet);
                assert_eq!(decode(&mut again, usize::MAX, sender), Ok(Some(packet)));
                assert!(again.is_empty());
            }
            Ok(None) => {
                assert_eq!(buf.len(), before, "{bytes:02x?}");
                return;
            }
            Err(e) => {
                // Every error must render a message and name a Reason Code.
                assert!(!e.to_string().is_empty());
                assert!(e.disconnect_reason().is_error());
                assert!(e.connack_reason().is_error());
                // An error that names a packet type names the one on the wire.
                if let (Some(packet), Some(&first)) = (e.packet(), bytes.get(start)) {
                    assert_eq!(packet as u8, first >> 4, "{e}");
                }
                return;
            }
        }
    }
}

fn random_max(rng: &mut Rng) -> usize {
    [2, 16, 64, MAX][rng.below(4)]
}

fn random_sender(rng: &mut Rng) -> Sender {
    if rng.below(2) == 0 {
        Sender::Client
    } else {
        Sender::Server
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let len = rng.below(64);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        // Often give it a plausible fixed header so bodies get exercised too.
        if len > 2 && rng.below(2) == 0 {
            bytes = frame(bytes[0], &bytes[2..]);
        }
        let max = random_max(&mut rng);
        check(&bytes, max, random_sender(&mut rng));
    }
}

#[test]
fn mutated_packets_never_panic() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let valid: Vec<(Sender, Vec<u8>)> = samples().iter().map(|(s, p)| (*s, encode(p))).collect();
    let mut accepted = 0;
    for _ in 0..40_000 {
        let (sender, original) = &valid[rng.below(valid.len())];
        let mut bytes = original.clone();
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut bytes);
        }
        // Keep the remaining length right half the time, so the body's own fields are
        // what is judged.
        if bytes.len() > 2 && rng.below(2) == 0 {
            let header_len = 1
                + bytes[1..]
                    .iter()
                    .take(4)
                    .position(|b| b & 0x80 == 0)
                    .unwrap_or(0)
                + 1;
            if header_len < bytes.len() {
                bytes = frame(bytes[0], &bytes[header_len..]);
            }
        }
        if matches!(decode_bytes(&bytes, *sender), Ok(Some(_))) {
            accepted += 1;
        }
        let max = random_max(&mut rng);
        check(&bytes, max, *sender);
        check(&bytes, MAX, *sender);
    }
    // The mutations must reach accepted packets too, or the re-encode checks test nothing.
    assert!(accepted > 1_000, "only {accepted} mutated packets accepted");
}

fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    if bytes.is_empty() {
        bytes.push(rng.byte());
        return;
    }
    let at = rng.below(bytes.len());
    match rng.below(6) {
        0 => bytes[at] ^= 1 << rng.below(8),
        1 => bytes[at] = rng.byte(),
        2 => bytes.insert(at, rng.byte()),
        3 => {
            bytes.remove(at);
        }
        4 => bytes.truncate(at),
        // Small field values (lengths, flags, QoS, identifiers) hit the most branches.
        _ => bytes[at] = rng.below(4) as u8,
    }
}

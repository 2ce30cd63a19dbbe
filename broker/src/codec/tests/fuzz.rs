//! Random and mutated input must never panic, and anything accepted must
//! survive a re-encode unchanged.

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

/// Decodes everything in `bytes`, checking the codec's invariants.
fn check(bytes: &[u8], max: usize) {
    let mut buf = BytesMut::from(bytes);
    loop {
        let before = buf.len();
        match decode(&mut buf, max) {
            Ok(Some(packet)) => {
                let used = before - buf.len();
                assert!(used >= 2 && used <= max, "{bytes:02x?}");
                let mut again = BytesMut::new();
                packet.encode(&mut again);
                assert_eq!(again.len(), packet.encoded_len());
                assert_eq!(decode(&mut again, usize::MAX), Ok(Some(packet)));
                assert!(again.is_empty());
            }
            Ok(None) => {
                assert_eq!(buf.len(), before, "{bytes:02x?}");
                return;
            }
            Err(e) => {
                // Every error must render a message.
                assert!(!e.to_string().is_empty());
                return;
            }
        }
    }
}

fn random_max(rng: &mut Rng) -> usize {
    [2, 16, 64, MAX][rng.below(4)]
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
        check(&bytes, random_max(&mut rng));
    }
}

#[test]
fn mutated_packets_never_panic() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let valid: Vec<Vec<u8>> = samples().iter().map(encode).collect();
    for _ in 0..20_000 {
        let mut bytes = valid[rng.below(valid.len())].clone();
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut bytes);
        }
        check(&bytes, random_max(&mut rng));
    }
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
        // Small field values (lengths, flags, QoS) hit the most branches.
        _ => bytes[at] = rng.below(4) as u8,
    }
}

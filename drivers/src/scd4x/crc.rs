//! The checksum after every 16-bit word the SCD4x sends or receives.

/// CRC-8 as the SCD4x computes it: polynomial 0x31 (x⁸ + x⁵ + x⁴ + 1), initial value 0xFF,
/// no final XOR, most significant bit first.
pub fn crc8(data: &[u8]) -> u8 {
    let mut crc = 0xFF_u8;
    for &byte in data {
        crc ^= byte;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x31
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// A word as sent on the bus: big-endian data, then its CRC.
pub fn encode_word(word: u16) -> [u8; 3] {
    let [hi, lo] = word.to_be_bytes();
    [hi, lo, crc8(&[hi, lo])]
}

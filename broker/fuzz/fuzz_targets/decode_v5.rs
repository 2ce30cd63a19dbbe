//! libFuzzer target: every input is a byte stream from a client and from a server, checked by
//! [`broker_fuzz::v5::check_decode_v5`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| broker_fuzz::v5::check_decode_v5(data));

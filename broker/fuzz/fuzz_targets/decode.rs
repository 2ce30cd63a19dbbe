//! libFuzzer target: every input is a byte stream from a client, checked by
//! [`broker_fuzz::check_decode`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| broker_fuzz::check_decode(data));

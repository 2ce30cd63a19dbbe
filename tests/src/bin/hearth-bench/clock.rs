//! Process-wide monotonic clock; timestamps travel inside payloads, so
//! publisher and subscribers must share one origin.

use std::sync::OnceLock;
use std::time::Instant;

static ORIGIN: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the first call in this process.
pub fn now_ns() -> u64 {
    let origin = ORIGIN.get_or_init(Instant::now);
    // u64 nanoseconds cover 584 years of uptime.
    origin.elapsed().as_nanos() as u64
}

//! Logs go to stderr as readable sentences with `key=value` fields.

use log::LevelFilter;

/// `level` is the `--log-level` flag; `RUST_LOG` refines it per module when set.
pub fn init(level: LevelFilter) {
    let mut builder = env_logger::Builder::new();
    builder.filter_level(level);
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    builder.format_target(false);
    // A second init (tests) is harmless.
    let _ = builder.try_init();
}

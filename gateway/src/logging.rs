//! Logs go to the systemd journal when systemd started us with stderr connected to it
//! (structured: priority, module, and each `key = value` pair of a log call as its own field),
//! and to stderr as readable sentences with `key=value` fields otherwise.

use log::LevelFilter;

/// `level` is the `--log-level` flag; `RUST_LOG` (e.g. `warn,broker=debug`) refines it
/// per module when set. Both apply to the journal and to stderr alike.
pub fn init(level: LevelFilter) {
    let rust_log = std::env::var("RUST_LOG").ok();
    if systemd_journal_logger::connected_to_journal() {
        match systemd_journal_logger::JournalLog::new() {
            Ok(journal) => {
                let filter = filter(level, rust_log.as_deref());
                let max = filter.filter();
                let logger = env_filter::FilteredLog::new(journal, filter);
                if log::set_boxed_logger(Box::new(logger)).is_ok() {
                    log::set_max_level(max);
                }
                return;
            }
            // Fall through: stderr still reaches the journal, only without fields.
            Err(e) => eprintln!("cannot log to the systemd journal, using stderr: {e}"),
        }
    }
    let mut builder = env_logger::Builder::new();
    builder.filter_level(level);
    if let Some(spec) = &rust_log {
        builder.parse_filters(spec);
    }
    builder.format_target(false);
    // A second init (tests) is harmless.
    let _ = builder.try_init();
}

/// The same filter `env_logger` builds for stderr, for the journal logger.
fn filter(level: LevelFilter, rust_log: Option<&str>) -> env_filter::Filter {
    let mut builder = env_filter::Builder::new();
    builder.filter_level(level);
    if let Some(spec) = rust_log {
        builder.parse(spec);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::filter;
    use log::{Level, LevelFilter, Metadata};

    fn enabled(f: &env_filter::Filter, level: Level, target: &str) -> bool {
        f.enabled(&Metadata::builder().level(level).target(target).build())
    }

    #[test]
    fn the_log_level_flag_sets_the_floor() {
        let f = filter(LevelFilter::Warn, None);
        assert!(enabled(&f, Level::Warn, "gateway::daemon"));
        assert!(!enabled(&f, Level::Info, "gateway::daemon"));
    }

    #[test]
    fn rust_log_refines_per_module() {
        let f = filter(LevelFilter::Warn, Some("broker=debug"));
        assert!(enabled(&f, Level::Debug, "broker::router"));
        assert!(!enabled(&f, Level::Info, "gateway::sensors"));
        assert_eq!(f.filter(), LevelFilter::Debug);
    }
}

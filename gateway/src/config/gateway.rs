//! The `[gateway]` table: who this gateway is.

use super::error::{excerpt, ErrorSink};
use super::reader::TableReader;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Names this gateway in its own topics (`hearth/<name>/status`).
    pub name: String,
    /// Where the gateway keeps what must outlive a restart (which Home Assistant entities it
    /// announced). Defaults to systemd's `$STATE_DIRECTORY` when set.
    pub state_dir: Option<std::path::PathBuf>,
}

pub(crate) fn read(table: Option<TableReader>, errs: &mut ErrorSink) -> GatewaySettings {
    let mut name = default_name();
    let mut state_dir = std::env::var_os("STATE_DIRECTORY").map(std::path::PathBuf::from);
    if let Some(mut t) = table {
        if let Some((dir, _)) = t.string(errs, "state_dir") {
            state_dir = Some(dir.into());
        }
        if let Some((text, span)) = t.string(errs, "name") {
            match check_topic_level(text) {
                Ok(()) => name = text.to_string(),
                Err(why) => errs.report(&t.key_path("name"), span, why),
            }
        }
        t.finish(errs);
    }
    GatewaySettings { name, state_dir }
}

/// A name that becomes one topic level (`hearth/<name>/...`) must be a valid, wildcard-free level.
pub(super) fn check_topic_level(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = name.chars().find(|c| matches!(c, '/' | '+' | '#' | '\0')) {
        return Err(format!(
            "\"{}\" contains '{}', which cannot appear in one topic level; use letters, digits, '-' or '_'",
            excerpt(name),
            c.escape_default()
        ));
    }
    if name.starts_with('$') {
        return Err(format!(
            "\"{}\" starts with '$', which wildcard subscribers would not see",
            excerpt(name)
        ));
    }
    Ok(())
}

/// The host name, or `hearth` when it cannot be read or is not a valid topic level.
fn default_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| check_topic_level(s).is_ok())
        .unwrap_or_else(|| "hearth".to_string())
}

#[cfg(test)]
mod tests {
    use super::check_topic_level;

    #[test]
    fn names_that_are_not_one_topic_level_are_refused() {
        assert!(check_topic_level("pi-kitchen").is_ok());
        for bad in ["", "a/b", "a+", "#", "$sys", "a\0b"] {
            assert!(check_topic_level(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

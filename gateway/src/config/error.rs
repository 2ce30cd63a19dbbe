//! Configuration errors: each names the key path and the line, so a user can find and fix it.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// How many characters of a value an error message quotes: enough to recognise it.
const QUOTED_CHARS: usize = 40;

/// What an error message quotes of a value from the file: all of it when it is short, else its
/// first [`QUOTED_CHARS`] characters and "…", so a huge value cannot make a huge message.
/// Every message that repeats a user's value (or key) quotes it through this.
pub(crate) fn excerpt(value: &str) -> Cow<'_, str> {
    match value.char_indices().nth(QUOTED_CHARS) {
        None => Cow::Borrowed(value),
        Some((cut, _)) => Cow::Owned(format!("{}…", &value[..cut])),
    }
}

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted key path, e.g. `broker.listen` or `sensor[2].interval`.
    pub path: String,
    /// 1-based line of the offending value (0 when the file could not be read at all).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.path.is_empty(), self.line) {
            (true, 0) => write!(f, "{}", self.message),
            (true, line) => write!(f, "line {line}: {}", self.message),
            (false, 0) => write!(f, "{}: {}", self.path, self.message),
            (false, line) => write!(f, "line {line}: {}: {}", self.path, self.message),
        }
    }
}

/// Every problem found in one configuration file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    pub source_name: String,
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        let plural = if n == 1 { "" } else { "s" };
        write!(f, "{}: {n} error{plural}", self.source_name)?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Collects errors while a file is read, turning byte spans into line numbers.
pub(crate) struct ErrorSink<'s> {
    source: &'s str,
    errors: Vec<ConfigError>,
}

impl<'s> ErrorSink<'s> {
    pub(crate) fn new(source: &'s str) -> Self {
        Self {
            source,
            errors: Vec::new(),
        }
    }

    pub(crate) fn report(&mut self, path: &str, span: Range<usize>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            path: path.to_string(),
            line: self.line_of(span.start),
            message: message.into(),
        });
    }

    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.source.len());
        self.source.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub(crate) fn into_errors(mut self, source_name: &str) -> ConfigErrors {
        self.errors.sort_by_key(|e| e.line);
        ConfigErrors {
            source_name: source_name.to_string(),
            errors: self.errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{excerpt, QUOTED_CHARS};

    #[test]
    fn a_short_value_is_quoted_whole() {
        assert_eq!(excerpt("high"), "high");
        assert_eq!(excerpt(""), "");
        let exactly = "x".repeat(QUOTED_CHARS);
        assert_eq!(excerpt(&exactly), exactly);
    }

    #[test]
    fn a_long_value_is_cut_with_an_ellipsis() {
        let long = "a".repeat(10_000);
        let quoted = excerpt(&long);
        assert_eq!(quoted, format!("{}…", "a".repeat(QUOTED_CHARS)));
        assert_eq!(
            excerpt(&"b".repeat(QUOTED_CHARS + 1)).chars().count(),
            QUOTED_CHARS + 1
        );
    }

    #[test]
    fn multi_byte_characters_are_not_split() {
        // 2-, 3- and 4-byte characters on both sides of the cut.
        let long: String = "é€😀".repeat(QUOTED_CHARS);
        let quoted = excerpt(&long);
        let kept: String = long.chars().take(QUOTED_CHARS).collect();
        assert_eq!(quoted, format!("{kept}…"));
        let short = "é€😀".repeat(QUOTED_CHARS / 3);
        assert_eq!(excerpt(&short), short);
    }
}

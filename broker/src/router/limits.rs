//! How long and how deep a client's topic names and filters may be (`max_topic_length`,
//! `max_topic_levels`). Both bound what one PUBLISH or SUBSCRIBE can add to the tries: without
//! them a single 1 MiB packet could hold a 65,535-level filter.

use std::fmt;

use crate::settings::BrokerSettings;

#[derive(Debug, Clone, Copy)]
pub(super) struct TopicLimits {
    max_length: usize,
    max_levels: usize,
}

/// Why a topic or filter is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TopicTooBig {
    Length { bytes: usize, max: usize },
    Levels { levels: usize, max: usize },
}

impl fmt::Display for TopicTooBig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicTooBig::Length { bytes, max } => {
                write!(f, "is {bytes} bytes long (max_topic_length = {max})")
            }
            TopicTooBig::Levels { levels, max } => {
                write!(f, "has {levels} levels (max_topic_levels = {max})")
            }
        }
    }
}

impl TopicLimits {
    pub(super) fn new(settings: &BrokerSettings) -> Self {
        Self {
            max_length: settings.max_topic_length,
            max_levels: settings.max_topic_levels,
        }
    }

    /// Checks a topic name or filter (levels are counted alike: `a/+/#` has three).
    pub(super) fn check(&self, topic: &str) -> Result<(), TopicTooBig> {
        if topic.len() > self.max_length {
            return Err(TopicTooBig::Length {
                bytes: topic.len(),
                max: self.max_length,
            });
        }
        let levels = topic.bytes().filter(|&b| b == b'/').count() + 1;
        if levels > self.max_levels {
            return Err(TopicTooBig::Levels {
                levels,
                max: self.max_levels,
            });
        }
        Ok(())
    }
}

/// The start of a topic, for a log line: a refused topic may be 64 KiB long.
pub(super) fn shown(topic: &str) -> String {
    const SHOWN: usize = 64;
    match topic.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &topic[..cut]),
        None => topic.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_length: usize, max_levels: usize) -> TopicLimits {
        TopicLimits {
            max_length,
            max_levels,
        }
    }

    #[test]
    fn length_is_in_bytes_and_levels_count_empty_ones() {
        let l = limits(8, 3);
        assert_eq!(l.check("a/b/c"), Ok(()));
        assert_eq!(l.check("12345678"), Ok(()));
        assert_eq!(
            l.check("123456789"),
            Err(TopicTooBig::Length { bytes: 9, max: 8 })
        );
        // "é" is two bytes.
        assert_eq!(
            l.check("éééé/"),
            Err(TopicTooBig::Length { bytes: 9, max: 8 })
        );
        assert_eq!(
            l.check("a/b/c/d"),
            Err(TopicTooBig::Levels { levels: 4, max: 3 })
        );
        assert_eq!(
            l.check("///"),
            Err(TopicTooBig::Levels { levels: 4, max: 3 })
        );
        assert_eq!(l.check("+/+/#"), Ok(()));
    }

    #[test]
    fn shown_topics_are_cut_on_a_character_boundary() {
        assert_eq!(shown("a/b"), "a/b");
        let long = "é".repeat(100);
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), 65);
        assert!(cut.ends_with('…'));
    }
}

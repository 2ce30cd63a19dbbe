//! MQTT topic names and topic filters (MQTT 3.1.1 section 4.7).

mod relation;

use thiserror::Error;

pub use relation::{covers, overlaps};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FilterError {
    #[error("a topic filter must not be empty")]
    Empty,
    #[error("'#' must be the last character of a filter and stand alone in its level")]
    MisplacedHash,
    #[error("'+' must stand alone in its level")]
    MisplacedPlus,
    #[error("a topic filter must not contain U+0000")]
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TopicNameError {
    #[error("a topic name must not be empty")]
    Empty,
    #[error("a topic name must not contain the wildcards '+' or '#'")]
    Wildcard,
    #[error("a topic name must not contain U+0000")]
    Null,
}

/// Checks a filter against the wildcard rules (MQTT-4.7.1-2, 4.7.1-3, 4.7.3-1).
pub fn validate_filter(filter: &str) -> Result<(), FilterError> {
    if filter.is_empty() {
        return Err(FilterError::Empty);
    }
    if filter.contains('\0') {
        return Err(FilterError::Null);
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        let is_last = levels.peek().is_none();
        if level.contains('#') && (level != "#" || !is_last) {
            return Err(FilterError::MisplacedHash);
        }
        if level.contains('+') && level != "+" {
            return Err(FilterError::MisplacedPlus);
        }
    }
    Ok(())
}

/// Checks a topic name a client publishes to (MQTT-3.3.2-2, 4.7.3-1).
pub fn validate_topic_name(topic: &str) -> Result<(), TopicNameError> {
    if topic.is_empty() {
        return Err(TopicNameError::Empty);
    }
    if topic.contains(['+', '#']) {
        return Err(TopicNameError::Wildcard);
    }
    if topic.contains('\0') {
        return Err(TopicNameError::Null);
    }
    Ok(())
}

/// How many wildcards (`+` or `#`) a valid `filter` has: the captures `{1}`.. a rule can use.
pub fn wildcard_count(filter: &str) -> usize {
    filter
        .split('/')
        .filter(|level| matches!(*level, "+" | "#"))
        .count()
}

/// Whether a valid `filter` matches a topic name. Topics starting with `$` are not matched by a
/// filter starting with a wildcard (MQTT-4.7.2-1).
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    for f in filter.split('/') {
        match f {
            "#" => return true,
            "+" => {
                if topic_levels.next().is_none() {
                    return false;
                }
            }
            literal => {
                if topic_levels.next() != Some(literal) {
                    return false;
                }
            }
        }
    }
    topic_levels.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_validity_table() {
        let cases: &[(&str, Result<(), FilterError>)] = &[
            ("a/b", Ok(())),
            ("#", Ok(())),
            ("+", Ok(())),
            ("a/#", Ok(())),
            ("+/+/c", Ok(())),
            ("/", Ok(())),
            ("a//b", Ok(())),
            ("$SYS/#", Ok(())),
            ("", Err(FilterError::Empty)),
            ("a/#/b", Err(FilterError::MisplacedHash)),
            ("a#", Err(FilterError::MisplacedHash)),
            ("#a", Err(FilterError::MisplacedHash)),
            ("a/b#", Err(FilterError::MisplacedHash)),
            ("a+", Err(FilterError::MisplacedPlus)),
            ("a/+b/c", Err(FilterError::MisplacedPlus)),
            ("a\0b", Err(FilterError::Null)),
        ];
        for (filter, want) in cases {
            assert_eq!(validate_filter(filter), *want, "filter {filter:?}");
        }
    }

    #[test]
    fn topic_name_validity_table() {
        assert_eq!(validate_topic_name("a/b"), Ok(()));
        assert_eq!(validate_topic_name("/"), Ok(()));
        assert_eq!(validate_topic_name(""), Err(TopicNameError::Empty));
        assert_eq!(validate_topic_name("a/+"), Err(TopicNameError::Wildcard));
        assert_eq!(validate_topic_name("a/#"), Err(TopicNameError::Wildcard));
        assert_eq!(validate_topic_name("a\0"), Err(TopicNameError::Null));
    }

    #[test]
    fn wildcard_count_table() {
        let cases: &[(&str, usize)] = &[
            ("Kitchen/AirQuality/co2", 0),
            ("+/AirQuality/co2", 1),
            ("+/+/co2", 2),
            ("+/AirQuality/#", 2),
            ("#", 1),
            ("a/b+c", 0),
        ];
        for (filter, want) in cases {
            assert_eq!(wildcard_count(filter), *want, "filter {filter:?}");
        }
    }

    #[test]
    fn matching_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("a/b", "a/b", true),
            ("a/b", "a/c", false),
            ("a/+", "a/b", true),
            ("a/+", "a/b/c", false),
            ("a/+", "a", false),
            ("a/#", "a", true),
            ("a/#", "a/b/c", true),
            ("#", "a/b", true),
            ("#", "/x", true),
            ("+/+", "/x", true),
            ("+", "/x", false),
            ("/+", "/x", true),
            ("a//b", "a//b", true),
            ("+/b", "a/b", true),
            ("#", "$SYS/broker", false),
            ("+/broker", "$SYS/broker", false),
            ("$SYS/#", "$SYS/broker", true),
            ("$SYS/+", "$SYS/broker", true),
        ];
        for (filter, topic, want) in cases {
            assert_eq!(matches(filter, topic), *want, "{filter:?} vs {topic:?}");
        }
    }
}

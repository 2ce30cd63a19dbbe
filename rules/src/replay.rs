//! Recorded messages fed through an engine, for `hearth rules test --replay FILE`.
//!
//! A recording has one message a line: `TIMESTAMP TOPIC PAYLOAD`, the payload being the rest of
//! the line after one space (it may hold spaces, or be empty). `#` lines and blank lines are
//! skipped. TIMESTAMP is one of
//! - Unix seconds with an optional fraction, as `mosquitto_sub -v -F '%U %t %p'` prints:
//!   `1764493200.123456789`;
//! - ISO-8601 / RFC 3339 as mosquitto's `%I` prints: `2026-11-30T09:47:38+0100` (also `Z`,
//!   `+01:00` and a fraction of a second);
//! - an offset from the start for hand-written files: `0s`, `90s`, `2m30s`.
//!
//! Each becomes a [`Time`] since the Unix epoch (offsets since 0). A file's lines must be in
//! time order: [`parse_file`] reports the first line that goes back in time rather than
//! sorting, because that usually means two recordings were concatenated or two kinds of
//! timestamps mixed, and a silently reordered replay would explain nothing.

use std::time::Duration;

use thiserror::Error;

use crate::engine::Engine;
use crate::firing::Firing;
use crate::spec::Time;
use crate::topic::validate_topic_name;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub at: Time,
    pub topic: String,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplayError {
    #[error("expected `TIMESTAMP TOPIC PAYLOAD`, got {0:?}")]
    MissingTopic(String),
    #[error("{topic:?} is not a topic name: {reason}")]
    BadTopic { topic: String, reason: String },
    #[error("{0:?} is not a timestamp; expected Unix seconds (1764493200.123456789), ISO-8601 (2026-11-30T09:47:38+0100) or an offset from the start (90s, 2m30s)")]
    BadTimestamp(String),
    #[error("line {line}: {error}")]
    AtLine {
        line: usize,
        error: Box<ReplayError>,
    },
    #[error("line {line}: {timestamp} is earlier than line {previous_line}; a recording must be in time order (are two kinds of timestamps mixed?)")]
    OutOfOrder {
        line: usize,
        timestamp: String,
        previous_line: usize,
    },
}

/// One line of a recording; `None` for a blank line or a `#` comment.
pub fn parse_line(line: &str) -> Result<Option<Recorded>, ReplayError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let trimmed = line.trim_start();
    if trimmed.trim_end().is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let (timestamp, rest) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
    let at = parse_timestamp(timestamp)?;
    let (topic, payload) = rest.split_once(' ').unwrap_or((rest, ""));
    if topic.is_empty() {
        return Err(ReplayError::MissingTopic(line.to_string()));
    }
    validate_topic_name(topic).map_err(|e| ReplayError::BadTopic {
        topic: topic.to_string(),
        reason: e.to_string(),
    })?;
    Ok(Some(Recorded {
        at,
        topic: topic.to_string(),
        payload: payload.as_bytes().to_vec(),
    }))
}

/// Every message of a recording, with errors naming their (1-based) line.
pub fn parse_file(text: &str) -> Result<Vec<Recorded>, ReplayError> {
    let mut out: Vec<Recorded> = Vec::new();
    let mut previous_line = 0;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let parsed = parse_line(line).map_err(|error| ReplayError::AtLine {
            line: line_no,
            error: Box::new(error),
        })?;
        let Some(recorded) = parsed else {
            continue;
        };
        if out.last().is_some_and(|last| recorded.at < last.at) {
            return Err(ReplayError::OutOfOrder {
                line: line_no,
                timestamp: line.split(' ').next().unwrap_or_default().to_string(),
                previous_line,
            });
        }
        previous_line = line_no;
        out.push(recorded);
    }
    Ok(out)
}

/// Feeds the messages in order, calling `on_tick` at every deadline that falls between two
/// messages, so a `for = "2m"` fires at its simulated moment, stamped with that time.
///
/// Deadlines are processed up to the last message's time and no further: a rule still waiting
/// for its `for` when the recording ends does not fire (the recording says nothing about what
/// came after).
pub fn run(engine: &mut Engine, recorded: impl IntoIterator<Item = Recorded>) -> Vec<Firing> {
    let mut firings = Vec::new();
    for message in recorded {
        while let Some(deadline) = engine.next_deadline().filter(|d| *d < message.at) {
            firings.extend(engine.on_tick(deadline));
        }
        firings.extend(engine.on_message(message.at, &message.topic, &message.payload));
    }
    firings
}

/// Any of the three timestamp kinds, as time since the Unix epoch (or since 0 for offsets).
pub fn parse_timestamp(text: &str) -> Result<Time, ReplayError> {
    let bad = || ReplayError::BadTimestamp(text.to_string());
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        if let Some(t) = parse_unix(text) {
            return Ok(t);
        }
        if text.contains(['T', 't']) && text.contains('-') {
            return parse_iso(text).ok_or_else(bad);
        }
    }
    humantime::parse_duration(text).map_err(|_| bad())
}

/// `1764493200` or `1764493200.123456789`.
fn parse_unix(text: &str) -> Option<Time> {
    let (secs, fraction) = text.split_once('.').unwrap_or((text, ""));
    if !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.contains('.') && fraction.is_empty() {
        return None;
    }
    Some(Duration::new(secs.parse().ok()?, nanos(fraction)?))
}

/// Digits after a decimal point as nanoseconds (beyond 9 digits, truncated).
fn nanos(fraction: &str) -> Option<u32> {
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = fraction
        .chars()
        .chain("000000000".chars())
        .take(9)
        .collect();
    digits.parse().ok()
}

/// `2026-11-30T09:47:38+0100`, `...Z`, `...+01:00`, `...-05`, with an optional fraction.
fn parse_iso(text: &str) -> Option<Time> {
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let sep =
        |i: usize, allowed: &[u8]| text.as_bytes().get(i).is_some_and(|b| allowed.contains(b));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second <= 60;
    if !valid {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut nano = 0;
    if let Some(after_point) = rest.strip_prefix(['.', ',']) {
        let end = after_point
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after_point.len());
        nano = nanos(after_point.get(..end).filter(|d| !d.is_empty())?)?;
        rest = &after_point[end..];
    }
    let offset = parse_offset(rest)?;
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(Duration::new(u64::try_from(seconds).ok()?, nano))
}

/// `Z`, `+0100`, `+01:00` or `+01` as seconds east of UTC.
fn parse_offset(text: &str) -> Option<i64> {
    if text.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = text[1..].chars().filter(|c| *c != ':').collect();
    let colon_ok = text.len() - 1 == digits.len() || text.get(3..4) == Some(":");
    if !colon_ok || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        2 => (digits.parse::<i64>().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    (hours < 24 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

//! Recorded messages: the three timestamp kinds, errors, and deadlines between messages.

use std::time::Duration;

use rules::replay::{parse_file, parse_line, run, Recorded, ReplayError};
use rules::spec::RuleSpec;
use rules::Engine;

use super::support::*;

fn parsed(line: &str) -> Option<Recorded> {
    parse_line(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

#[test]
fn lines_in_each_timestamp_kind() {
    let rec = |at: Duration, topic: &str, payload: &str| {
        Some(Recorded {
            at,
            topic: topic.to_string(),
            payload: payload.as_bytes().to_vec(),
        })
    };
    let nov30 = 1_796_032_058; // 2026-11-30T09:47:38Z
    let cases: &[(&str, Option<Recorded>)] = &[
        (
            "1764493200.123456789 Kitchen/co2 1042",
            rec(
                Duration::new(1_764_493_200, 123_456_789),
                "Kitchen/co2",
                "1042",
            ),
        ),
        ("1764493200 a/b x", rec(secs(1_764_493_200), "a/b", "x")),
        (
            "1764493200.5 a/b x",
            rec(Duration::from_millis(1_764_493_200_500), "a/b", "x"),
        ),
        (
            "2026-11-30T09:47:38+0100 a {\"x\": 1}",
            rec(secs(nov30 - 3600), "a", "{\"x\": 1}"),
        ),
        ("2026-11-30T09:47:38Z a b", rec(secs(nov30), "a", "b")),
        (
            "2026-11-30T09:47:38+01:00 a b",
            rec(secs(nov30 - 3600), "a", "b"),
        ),
        (
            "2026-11-30T09:47:38-05 a b",
            rec(secs(nov30 + 5 * 3600), "a", "b"),
        ),
        (
            "2026-11-30T09:47:38.25Z a b",
            rec(Duration::from_millis(nov30 * 1000 + 250), "a", "b"),
        ),
        ("1970-01-01T00:00:00Z a b", rec(secs(0), "a", "b")),
        (
            "2024-02-29T00:00:00Z a b",
            rec(secs(1_709_164_800), "a", "b"),
        ),
        ("0s a/b 1", rec(secs(0), "a/b", "1")),
        (
            "2m30s a/b hello world ",
            rec(secs(150), "a/b", "hello world "),
        ),
        ("90s a/b", rec(secs(90), "a/b", "")),
        ("90s a/b ", rec(secs(90), "a/b", "")),
        ("90s a/b\r", rec(secs(90), "a/b", "")),
        ("", None),
        ("   ", None),
        ("# a comment", None),
    ];
    for (line, want) in cases {
        assert_eq!(parsed(line), *want, "{line:?}");
    }
}

#[test]
fn bad_lines_say_what_was_expected() {
    let cases: &[(&str, &str)] = &[
        (
            "yesterday a b",
            "\"yesterday\" is not a timestamp; expected Unix seconds",
        ),
        ("2026-13-30T09:47:38Z a b", "is not a timestamp"),
        ("2026-11-30T09:47:38+25 a b", "is not a timestamp"),
        ("2026-11-30T09:47 a b", "is not a timestamp"),
        ("1764493200.", "is not a timestamp"),
        ("1764493200", "expected `TIMESTAMP TOPIC PAYLOAD`"),
        ("1s a/+ x", "is not a topic name"),
    ];
    for (line, want) in cases {
        match parse_line(line) {
            Err(e) => assert!(e.to_string().contains(want), "{line:?}: {e}"),
            Ok(r) => panic!("{line:?} parsed as {r:?}"),
        }
    }
}

#[test]
fn a_file_reports_the_line_of_an_error_and_refuses_going_back_in_time() {
    let text = "# co2\n0s a 1\n\n10s a 2\nnonsense\n";
    match parse_file(text) {
        Err(ReplayError::AtLine { line: 5, .. }) => {}
        other => panic!("expected an error at line 5, got {other:?}"),
    }
    let text = "10s a 1\n5s a 2\n";
    let err = parse_file(text).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("line 2: 5s is earlier than line 1; a recording must be in time order (are two kinds of timestamps mixed?)")
    );
    let ok = parse_file("0s a 1\n0s a 2\n1s a 3\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok.len(), 3);
}

#[test]
fn a_replay_fires_for_between_messages_at_the_deadline() {
    let spec = RuleSpec {
        hold_for: Some(secs(120)),
        ..single("co2", when("+/AirQuality/co2", above(1000.0)))
    };
    let text = "\
0s Kitchen/AirQuality/co2 1042
30s Kitchen/AirQuality/co2 1100
10m Kitchen/AirQuality/co2 900
11m Kitchen/AirQuality/co2 1200
";
    let recorded = parse_file(text).unwrap_or_else(|e| panic!("{e}"));
    let mut engine = Engine::new(vec![spec]);
    let firings = run(&mut engine, recorded);
    // The second enter would come due at 13m, after the recording ends: it does not fire.
    assert_eq!(
        briefs(&firings),
        vec![
            // The newest reading that kept the condition holding.
            "120s co2 enter [Kitchen] 1100",
            "600s co2 leave [Kitchen] 900"
        ]
    );
    assert_eq!(engine.next_deadline(), Some(secs(780)));
}

#[test]
fn a_replay_with_unix_timestamps_and_staleness() {
    let spec = single(
        "stale",
        when("nodes/+/temperature", silent(60, &["offline"])),
    );
    let text = "\
1764493200.000 nodes/esp1/temperature 21.5
1764493230.000 nodes/esp1/temperature 21.6
1764493400.500 nodes/esp1/temperature 21.7
";
    let recorded = parse_file(text).unwrap_or_else(|e| panic!("{e}"));
    let mut engine = Engine::new(vec![spec]);
    let firings = run(&mut engine, recorded);
    let at: Vec<(String, Duration)> = firings
        .iter()
        .map(|f| (f.transition.to_string(), f.at))
        .collect();
    assert_eq!(
        at,
        vec![
            ("enter".to_string(), secs(1_764_493_290)),
            (
                "leave".to_string(),
                Duration::from_millis(1_764_493_400_500)
            ),
        ]
    );
}

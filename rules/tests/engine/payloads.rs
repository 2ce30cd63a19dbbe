//! From payload to value: JSON fields, numbers in strings, and what is ignored and counted.

use rules::{Engine, Stats, MAX_PAYLOAD};

use super::support::Step::*;
use super::support::*;

#[test]
fn json_fields_by_dotted_path_and_pointer() {
    scenario(
        single(
            "hot",
            when_field("tele/+/SENSOR", "/AM2301/Temperature", above(25.0)),
        ),
        &[
            Msg(
                0,
                "tele/plug/SENSOR",
                r#"{"AM2301":{"Temperature":24.0}}"#,
                &[],
            ),
            Msg(
                1,
                "tele/plug/SENSOR",
                r#"{"AM2301":{"Temperature":25.5}}"#,
                &["1s hot enter [plug] 25.5"],
            ),
        ],
    );
    scenario(
        single("co2", when_field("air/+", "sensors.co2", above(1000.0))),
        &[
            // A numeric string works for a threshold too.
            Msg(
                0,
                "air/kitchen",
                r#"{"sensors":{"co2":"1042"}}"#,
                &["0s co2 enter [kitchen] 1042"],
            ),
            Msg(
                1,
                "air/kitchen",
                r#"{"sensors":{"co2":900}}"#,
                &["1s co2 leave [kitchen] 900"],
            ),
        ],
    );
}

#[test]
fn equals_on_a_json_field_compares_string_content_or_json_text() {
    scenario(
        single(
            "on",
            when_field("plug/state", "POWER", equals(&["ON", "true"])),
        ),
        &[
            Msg(0, "plug/state", r#"{"POWER":"ON"}"#, &["0s on enter [] ON"]),
            Msg(
                1,
                "plug/state",
                r#"{"POWER":"OFF"}"#,
                &["1s on leave [] OFF"],
            ),
            Msg(
                2,
                "plug/state",
                r#"{"POWER":true}"#,
                &["2s on enter [] true"],
            ),
        ],
    );
}

#[test]
fn ignored_messages_change_nothing_and_are_counted() {
    let huge = "1".repeat(MAX_PAYLOAD + 1);
    let mut engine = scenario(
        single("co2", when_field("air/+", "co2", band(1000.0, 800.0))),
        &[
            Msg(
                0,
                "air/kitchen",
                r#"{"co2":1100}"#,
                &["0s co2 enter [kitchen] 1100"],
            ),
            Msg(1, "air/kitchen", r#"{"temp":21}"#, &[]),
            Msg(2, "air/kitchen", "not json", &[]),
            Msg(3, "air/kitchen", r#"{"co2":"high"}"#, &[]),
            Msg(4, "air/kitchen", r#"{"co2":null}"#, &[]),
            Msg(5, "air/kitchen", &huge, &[]),
            // Still on the holding side of the band: the ignored messages changed nothing.
            Msg(6, "air/kitchen", r#"{"co2":900}"#, &[]),
            Msg(
                7,
                "air/kitchen",
                r#"{"co2":700}"#,
                &["7s co2 leave [kitchen] 700"],
            ),
            // An ignored message does not create a key either.
            Msg(8, "air/hall", r#"{"co2":"n/a"}"#, &[]),
        ],
    );
    assert_eq!(
        engine.stats(),
        Stats {
            messages: 9,
            non_numeric: 3,
            too_large: 1,
            missing_field: 2,
            keys_dropped: 0,
            firings: 2,
        }
    );
    assert!(engine
        .on_message(secs(9), "air/hall", br#"{"co2":1}"#)
        .is_empty());
}

#[test]
fn non_numeric_plain_payloads_are_ignored_by_thresholds() {
    let mut engine = scenario(
        single("hot", when("Hall/temp", above(25.0))),
        &[
            Msg(0, "Hall/temp", "30", &["0s hot enter [] 30"]),
            Msg(1, "Hall/temp", "NaN", &[]),
            Msg(2, "Hall/temp", "inf", &[]),
            Msg(3, "Hall/temp", "", &[]),
            Msg(4, "Hall/temp", "warm", &[]),
        ],
    );
    assert_eq!(engine.stats().non_numeric, 4);
    assert_eq!(engine.stats().messages, 5);
    let firings = engine.on_message(secs(5), "Hall/temp", b" 20 ");
    assert_eq!(briefs(&firings), vec!["5s hot leave [] 20"]);
}

#[test]
fn a_message_counts_once_however_many_conditions_ignore_it() {
    let mut engine = Engine::new(vec![
        single("a", when("x", above(1.0))),
        single("b", when("x", below(1.0))),
    ]);
    engine.on_message(secs(0), "x", b"?");
    assert_eq!(engine.stats().non_numeric, 1);
}

#[test]
fn the_payload_limit_is_inclusive() {
    let mut engine = Engine::new(vec![single("t", when("x", equals(&["never"])))]);
    engine.on_message(secs(0), "x", &vec![b' '; MAX_PAYLOAD]);
    engine.on_message(secs(0), "x", &vec![b' '; MAX_PAYLOAD + 1]);
    assert_eq!(engine.stats().too_large, 1);
}

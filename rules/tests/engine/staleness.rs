//! Silent conditions: the silence timer, Last Will payloads, recovery, and when clocks start.

use rules::Engine;

use super::support::Step::*;
use super::support::*;

#[test]
fn silence_fires_after_the_timeout_and_recovers_on_the_next_message() {
    scenario(
        single("stale", when("nodes/+/temperature", silent(600, &[]))),
        &[
            Msg(0, "nodes/esp1/temperature", "21.5", &[]),
            Msg(300, "nodes/esp1/temperature", "21.6", &[]),
            Tick(899, &[]),
            Tick(900, &["900s stale enter [esp1] 21.6"]),
            Tick(5000, &[]),
            Msg(
                5001,
                "nodes/esp1/temperature",
                "21.7",
                &["5001s stale leave [esp1] 21.7"],
            ),
            Tick(5601, &["5601s stale enter [esp1] 21.7"]),
        ],
    );
}

#[test]
fn an_offline_payload_holds_at_once() {
    let mut engine = scenario(
        single("offline", when("nodes/+/status", silent(600, &["offline"]))),
        &[
            Msg(0, "nodes/esp1/status", "online", &[]),
            Msg(
                10,
                "nodes/esp1/status",
                "offline",
                &["10s offline enter [esp1] offline"],
            ),
            Tick(1000, &[]),
        ],
    );
    let back = engine.on_message(secs(2000), "nodes/esp1/status", b"online");
    assert_eq!(briefs(&back), vec!["2000s offline leave [esp1] online"]);
    assert_eq!(back[0].reason, r#"nodes/esp1/status = "online""#);
    let gone = engine.on_message(secs(2001), "nodes/esp1/status", b"offline");
    assert_eq!(gone[0].reason, r#"nodes/esp1/status = "offline""#);
}

#[test]
fn a_topic_without_wildcards_goes_stale_from_the_first_call_even_if_it_never_publishes() {
    let mut engine = Engine::new(vec![single(
        "stale",
        when("nodes/esp1/temperature", silent(600, &[])),
    )]);
    assert_eq!(
        engine.next_deadline(),
        None,
        "no clock before the first call"
    );
    assert!(engine.on_tick(secs(1000)).is_empty());
    assert_eq!(engine.next_deadline(), Some(secs(1600)));
    let firings = engine.on_tick(secs(1600));
    assert_eq!(briefs(&firings), vec!["1600s stale enter [] "]);
    assert_eq!(
        firings[0].reason,
        "no message on nodes/esp1/temperature for 10m"
    );
}

#[test]
fn a_wildcard_key_starts_its_clock_when_first_seen() {
    let mut engine = Engine::new(vec![single(
        "stale",
        when("nodes/+/temperature", silent(60, &[])),
    )]);
    assert!(engine.on_tick(secs(1000)).is_empty());
    assert_eq!(engine.next_deadline(), None, "no key yet");
    engine.on_message(secs(2000), "nodes/esp2/temperature", b"20");
    assert_eq!(engine.next_deadline(), Some(secs(2060)));
}

#[test]
fn a_silent_condition_ignores_neither_non_numbers_nor_missing_fields() {
    // Any message is a sign of life.
    scenario(
        single(
            "stale",
            when_field("tele/+/SENSOR", "/AM2301/Temperature", silent(60, &[])),
        ),
        &[
            Msg(0, "tele/plug/SENSOR", "garbage", &[]),
            Tick(59, &[]),
            Msg(59, "tele/plug/SENSOR", "{}", &[]),
            Tick(118, &[]),
            Tick(119, &["119s stale enter [plug] {}"]),
        ],
    );
}

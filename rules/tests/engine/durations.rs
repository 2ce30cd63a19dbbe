//! `for`, `min_on`, `min_off`, and the deadlines they set.

use rules::spec::RuleSpec;
use rules::Engine;

use super::support::Step::*;
use super::support::*;

fn co2(hold_for: Option<u64>, min_on: Option<u64>, min_off: Option<u64>) -> RuleSpec {
    RuleSpec {
        hold_for: hold_for.map(secs),
        min_on: min_on.map(secs),
        min_off: min_off.map(secs),
        ..single("co2", when("Room/co2", above(1000.0)))
    }
}

#[test]
fn for_fires_once_held_long_enough_at_the_deadline() {
    let mut engine = scenario(
        co2(Some(120), None, None),
        &[
            Msg(0, "Room/co2", "1042", &[]),
            Tick(119, &[]),
            Tick(125, &["120s co2 enter [] 1042"]),
            Tick(300, &[]),
        ],
    );
    assert_eq!(engine.next_deadline(), None);
    let left = engine.on_message(secs(301), "Room/co2", b"900");
    assert_eq!(briefs(&left), vec!["301s co2 leave [] 900"]);
}

#[test]
fn for_is_cancelled_when_interrupted_and_rearmed_when_it_holds_again() {
    scenario(
        co2(Some(120), None, None),
        &[
            Msg(0, "Room/co2", "1042", &[]),
            Msg(60, "Room/co2", "1100", &[]),
            Msg(100, "Room/co2", "950", &[]),
            Tick(120, &[]),
            Msg(130, "Room/co2", "1200", &[]),
            Tick(249, &[]),
            Tick(250, &["250s co2 enter [] 1200"]),
        ],
    );
}

#[test]
fn a_message_first_processes_the_deadlines_before_it() {
    scenario(
        co2(Some(120), None, None),
        &[
            Msg(0, "Room/co2", "1042", &[]),
            // No tick in between: the enter is still stamped 120s, then the leave follows.
            Msg(
                200,
                "Room/co2",
                "900",
                &["120s co2 enter [] 1042", "200s co2 leave [] 900"],
            ),
        ],
    );
}

#[test]
fn the_enter_reason_names_the_duration() {
    let mut engine = Engine::new(vec![co2(Some(120), None, None)]);
    engine.on_message(secs(0), "Room/co2", b"1042");
    let firings = engine.on_tick(secs(120));
    assert_eq!(firings[0].reason, "Room/co2 = 1042 is above 1000 for 2m");
}

#[test]
fn min_on_defers_the_leave_and_skips_it_if_the_condition_returns() {
    scenario(
        co2(None, Some(60), None),
        &[
            Msg(0, "Room/co2", "1100", &["0s co2 enter [] 1100"]),
            Msg(10, "Room/co2", "900", &[]),
            Tick(59, &[]),
            Tick(60, &["60s co2 leave [] 900"]),
            Msg(100, "Room/co2", "1100", &["100s co2 enter [] 1100"]),
            Msg(110, "Room/co2", "900", &[]),
            Msg(120, "Room/co2", "1100", &[]),
            // The deferred leave came due while holding again: nothing fires.
            Tick(160, &[]),
            // Past min_on, a leave is immediate.
            Msg(170, "Room/co2", "900", &["170s co2 leave [] 900"]),
        ],
    );
}

#[test]
fn min_off_defers_the_enter_and_skips_it_if_the_condition_stopped() {
    scenario(
        co2(None, None, Some(60)),
        &[
            Msg(0, "Room/co2", "1100", &["0s co2 enter [] 1100"]),
            Msg(10, "Room/co2", "900", &["10s co2 leave [] 900"]),
            Msg(20, "Room/co2", "1100", &[]),
            Tick(69, &[]),
            Tick(70, &["70s co2 enter [] 1100"]),
            Msg(80, "Room/co2", "900", &["80s co2 leave [] 900"]),
            Msg(90, "Room/co2", "1100", &[]),
            Msg(100, "Room/co2", "900", &[]),
            Tick(140, &[]),
        ],
    );
}

#[test]
fn for_counts_from_when_the_condition_started_holding_even_during_min_off() {
    scenario(
        co2(Some(30), None, Some(60)),
        &[
            Msg(0, "Room/co2", "1100", &[]),
            Tick(30, &["30s co2 enter [] 1100"]),
            Msg(40, "Room/co2", "900", &["40s co2 leave [] 900"]),
            // Holds from 50: `for` would allow 80, min_off allows 100.
            Msg(50, "Room/co2", "1100", &[]),
            Tick(99, &[]),
            Tick(100, &["100s co2 enter [] 1100"]),
            Msg(110, "Room/co2", "900", &["110s co2 leave [] 900"]),
            // Holds from 170: min_off allows 170, `for` 200.
            Msg(170, "Room/co2", "1100", &[]),
            Tick(199, &[]),
            Tick(200, &["200s co2 enter [] 1100"]),
        ],
    );
}

#[test]
fn next_deadline_follows_what_is_pending() {
    let mut engine = Engine::new(vec![co2(Some(120), Some(300), None)]);
    assert_eq!(engine.next_deadline(), None);
    engine.on_message(secs(10), "Room/co2", b"1100");
    assert_eq!(engine.next_deadline(), Some(secs(130)));
    engine.on_message(secs(20), "Room/co2", b"1200");
    assert_eq!(
        engine.next_deadline(),
        Some(secs(130)),
        "still holding: unchanged"
    );
    engine.on_message(secs(30), "Room/co2", b"900");
    assert_eq!(engine.next_deadline(), None, "interrupted: nothing pending");
    engine.on_message(secs(40), "Room/co2", b"1100");
    assert_eq!(engine.next_deadline(), Some(secs(160)));
    assert_eq!(engine.on_tick(secs(160)).len(), 1);
    assert_eq!(engine.next_deadline(), None, "entered and holding");
    engine.on_message(secs(170), "Room/co2", b"900");
    assert_eq!(
        engine.next_deadline(),
        Some(secs(460)),
        "leave deferred by min_on"
    );
    engine.on_message(secs(180), "Room/co2", b"1100");
    assert_eq!(
        engine.next_deadline(),
        None,
        "holding again: no leave pending"
    );
}

#[test]
fn zero_durations_behave_like_none() {
    scenario(
        co2(Some(0), Some(0), Some(0)),
        &[
            Msg(0, "Room/co2", "1100", &["0s co2 enter [] 1100"]),
            Msg(0, "Room/co2", "900", &["0s co2 leave [] 900"]),
        ],
    );
}

#[test]
fn huge_durations_never_fire_and_never_panic() {
    let mut engine = scenario(
        RuleSpec {
            hold_for: Some(std::time::Duration::MAX),
            ..co2(None, None, None)
        },
        &[Msg(5, "Room/co2", "1100", &[])],
    );
    assert_eq!(engine.next_deadline(), None);
    assert_eq!(engine.on_tick(std::time::Duration::MAX).len(), 0);
}

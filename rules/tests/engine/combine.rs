//! `all` and `any`: conditions joined on their captures, and conditions shared by every key.

use rules::spec::ConditionSpec;
use rules::Engine;

use super::support::Step::*;
use super::support::*;

fn ventilate() -> ConditionSpec {
    ConditionSpec::All(vec![
        when("+/AirQuality/co2", above(1000.0)),
        when("+/Window/state", equals(&["closed"])),
        // No wildcard: applies to every room.
        when("Home/mode", equals(&["home"])),
    ])
}

#[test]
fn all_is_joined_on_captures_and_a_shared_condition_applies_to_every_room() {
    let engine = scenario(
        rule("vent", ventilate()),
        &[
            Msg(0, "Kitchen/AirQuality/co2", "1100", &[]),
            Msg(1, "Kitchen/Window/state", "closed", &[]),
            Msg(2, "LivingRoom/Window/state", "closed", &[]),
            // The shared condition completes Kitchen only; LivingRoom has no co2 reading.
            Msg(3, "Home/mode", "home", &["3s vent enter [Kitchen] home"]),
            Msg(
                4,
                "LivingRoom/AirQuality/co2",
                "1200",
                &["4s vent enter [LivingRoom] 1200"],
            ),
            // Another room's window does not concern Kitchen.
            Msg(5, "Bedroom/Window/state", "open", &[]),
            Msg(
                6,
                "Kitchen/Window/state",
                "open",
                &["6s vent leave [Kitchen] open"],
            ),
            Msg(7, "Home/mode", "away", &["7s vent leave [LivingRoom] away"]),
        ],
    );
    assert!(engine.active().is_empty());
}

#[test]
fn any_holds_while_one_condition_holds_for_the_key() {
    scenario(
        rule(
            "alarm",
            ConditionSpec::Any(vec![
                when("+/temp", above(30.0)),
                when("+/smoke", equals(&["yes"])),
            ]),
        ),
        &[
            Msg(0, "Kitchen/temp", "35", &["0s alarm enter [Kitchen] 35"]),
            Msg(1, "Kitchen/smoke", "yes", &[]),
            Msg(2, "Hall/smoke", "no", &[]),
            Msg(3, "Kitchen/temp", "20", &[]),
            Msg(4, "Kitchen/smoke", "no", &["4s alarm leave [Kitchen] no"]),
        ],
    );
}

#[test]
fn all_without_wildcards_has_one_key() {
    scenario(
        rule(
            "both",
            ConditionSpec::All(vec![when("a", above(1.0)), when("b", above(1.0))]),
        ),
        &[
            Msg(0, "a", "2", &[]),
            Msg(1, "b", "2", &["1s both enter [] 2"]),
            Msg(2, "a", "0", &["2s both leave [] 0"]),
        ],
    );
}

#[test]
fn two_conditions_reading_one_message_are_updated_together() {
    // Both fields come in one payload: no transition may fire from a half-updated state.
    let mut engine = scenario(
        rule(
            "muggy",
            ConditionSpec::All(vec![
                when_field("+/env", "temp", above(25.0)),
                when_field("+/env", "hum", above(60.0)),
            ]),
        ),
        &[
            Msg(
                0,
                "Bath/env",
                r#"{"temp":26,"hum":70}"#,
                &["0s muggy enter [Bath] 70"],
            ),
            Msg(
                1,
                "Bath/env",
                r#"{"temp":20,"hum":50}"#,
                &["1s muggy leave [Bath] 50"],
            ),
        ],
    );
    let firings = engine.on_message(secs(2), "Bath/env", br#"{"temp":26,"hum":70}"#);
    assert_eq!(
        firings[0].reason,
        "Bath/env = 26 is above 25 and Bath/env = 70 is above 60"
    );
}

#[test]
fn a_shared_silent_condition_reaches_every_key() {
    let engine = Engine::new(vec![rule(
        "cold-and-offline",
        ConditionSpec::All(vec![
            when("+/temp", below(10.0)),
            when("boiler/status", silent(60, &["offline"])),
        ]),
    )]);
    let mut engine = engine;
    run_steps(
        &mut engine,
        &[
            Msg(0, "Kitchen/temp", "5", &[]),
            Msg(1, "Hall/temp", "6", &[]),
            // The boiler never published: stale 60s after the first call.
            Tick(
                60,
                &[
                    "60s cold-and-offline enter [Kitchen] ",
                    "60s cold-and-offline enter [Hall] ",
                ],
            ),
            Msg(
                70,
                "boiler/status",
                "online",
                &[
                    "70s cold-and-offline leave [Kitchen] online",
                    "70s cold-and-offline leave [Hall] online",
                ],
            ),
        ],
    );
}

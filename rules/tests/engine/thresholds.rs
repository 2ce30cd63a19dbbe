//! Threshold and equality conditions: when they hold, and that only transitions fire.

use rules::Action;

use super::support::Step::*;
use super::support::*;

#[test]
fn above_alone_holds_while_above() {
    scenario(
        single("hot", when("Hall/temp", above(25.0))),
        &[
            Msg(0, "Hall/temp", "24", &[]),
            Msg(1, "Hall/temp", "25.5", &["1s hot enter [] 25.5"]),
            Msg(2, "Hall/temp", "26", &[]),
            Msg(3, "Hall/temp", "25", &["3s hot leave [] 25"]),
            Msg(4, "Hall/temp", "25", &[]),
        ],
    );
}

#[test]
fn below_alone_holds_while_below() {
    scenario(
        single("cold", when("Hall/temp", below(5.0))),
        &[
            Msg(0, "Hall/temp", "4.9", &["0s cold enter [] 4.9"]),
            Msg(1, "Hall/temp", "4", &[]),
            Msg(2, "Hall/temp", "5", &["2s cold leave [] 5"]),
        ],
    );
}

#[test]
fn hysteresis_band_keeps_its_side_in_between() {
    scenario(
        single(
            "co2",
            when("LivingRoom/AirQuality/co2", band(1000.0, 800.0)),
        ),
        &[
            // In the band with no history: not holding.
            Msg(0, "LivingRoom/AirQuality/co2", "900", &[]),
            Msg(1, "LivingRoom/AirQuality/co2", "1000", &[]),
            Msg(
                2,
                "LivingRoom/AirQuality/co2",
                "1042",
                &["2s co2 enter [] 1042"],
            ),
            // Back into the band: still holding.
            Msg(3, "LivingRoom/AirQuality/co2", "900", &[]),
            Msg(4, "LivingRoom/AirQuality/co2", "800", &[]),
            Msg(
                5,
                "LivingRoom/AirQuality/co2",
                "799",
                &["5s co2 leave [] 799"],
            ),
            // In the band again, from below: still not holding.
            Msg(6, "LivingRoom/AirQuality/co2", "950", &[]),
            Msg(
                7,
                "LivingRoom/AirQuality/co2",
                "1001",
                &["7s co2 enter [] 1001"],
            ),
        ],
    );
}

#[test]
fn repeated_values_and_retained_repeats_do_not_fire_again() {
    scenario(
        single("hot", when("Hall/temp", above(25.0))),
        &[
            Msg(0, "Hall/temp", "30", &["0s hot enter [] 30"]),
            Msg(0, "Hall/temp", "30", &[]),
            Msg(10, "Hall/temp", "30", &[]),
            Msg(20, "Hall/temp", "31", &[]),
        ],
    );
}

#[test]
fn equals_holds_while_the_value_is_one_of_the_strings() {
    scenario(
        single("door", when("Garage/door", equals(&["open", "ajar"]))),
        &[
            Msg(0, "Garage/door", "closed", &[]),
            Msg(1, "Garage/door", " open\n", &["1s door enter [] open"]),
            Msg(2, "Garage/door", "ajar", &[]),
            Msg(3, "Garage/door", "OPEN", &["3s door leave [] OPEN"]),
            // Equality needs no number: nothing is counted as non-numeric.
        ],
    );
}

#[test]
fn firings_explain_themselves_and_render_their_actions() {
    let mut engine = scenario(
        single("co2", when("+/AirQuality/co2", band(1000.0, 800.0))),
        &[],
    );
    let entered = engine.on_message(secs(1), "LivingRoom/AirQuality/co2", b"1042");
    let [f] = entered.as_slice() else {
        panic!("one firing expected, got {entered:?}");
    };
    assert_eq!(f.reason, "LivingRoom/AirQuality/co2 = 1042 is above 1000");
    assert_eq!(f.topic, "LivingRoom/AirQuality/co2");
    assert_eq!(
        f.actions,
        vec![Action::Log {
            message: "co2 entered LivingRoom at 1042".into()
        }]
    );
    assert_eq!(
        f.to_string(),
        "co2 enter [LivingRoom]: LivingRoom/AirQuality/co2 = 1042 is above 1000"
    );
    let left = engine.on_message(secs(2), "LivingRoom/AirQuality/co2", b"790");
    assert_eq!(
        left.iter().map(|f| f.reason.as_str()).collect::<Vec<_>>(),
        vec!["LivingRoom/AirQuality/co2 = 790 is below 800"]
    );

    let mut engine = scenario(single("door", when("Garage/door", equals(&["open"]))), &[]);
    let firings = engine.on_message(secs(1), "Garage/door", b"open");
    assert_eq!(firings[0].reason, r#"Garage/door equals "open""#);
    let firings = engine.on_message(secs(2), "Garage/door", b"closed");
    assert_eq!(firings[0].reason, r#"Garage/door = "closed", not "open""#);
}

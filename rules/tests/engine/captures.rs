//! Wildcards: state per capture key, `#` captures, `$`-topics, and the bound on keys.

use rules::spec::{ActionSpec, PropertiesSpec};
use rules::{Action, Engine, Properties, MAX_KEYS_PER_RULE};

use super::support::Step::*;
use super::support::*;

#[test]
fn each_room_has_its_own_state() {
    let engine = scenario(
        RuleSpec {
            hold_for: Some(secs(60)),
            ..single("co2", when("+/AirQuality/co2", band(1000.0, 800.0)))
        },
        &[
            Msg(0, "Kitchen/AirQuality/co2", "1100", &[]),
            Msg(10, "LivingRoom/AirQuality/co2", "700", &[]),
            Msg(30, "LivingRoom/AirQuality/co2", "1100", &[]),
            Msg(40, "LivingRoom/AirQuality/co2", "900", &[]),
            Msg(50, "LivingRoom/AirQuality/co2", "700", &[]),
            Tick(60, &["60s co2 enter [Kitchen] 1100"]),
            Tick(90, &[]),
            Msg(100, "Kitchen/AirQuality/co2", "900", &[]),
            Msg(110, "Bedroom/AirQuality/co2", "1200", &[]),
            Tick(170, &["170s co2 enter [Bedroom] 1200"]),
            Msg(
                180,
                "Kitchen/AirQuality/co2",
                "500",
                &["180s co2 leave [Kitchen] 500"],
            ),
        ],
    );
    assert_eq!(
        engine.active(),
        vec![("co2".to_string(), vec!["Bedroom".to_string()])]
    );
    assert_eq!(engine.active_keys("co2"), vec![vec!["Bedroom".to_string()]]);
    assert!(engine.active_keys("no such rule").is_empty());
}

use rules::spec::RuleSpec;

#[test]
fn hash_captures_the_rest_of_the_topic() {
    scenario(
        single("open", when("Home/+/Sensor1/#", equals(&["open"]))),
        &[
            Msg(
                0,
                "Home/Hall/Sensor1/door/front",
                "open",
                &["0s open enter [Hall,door/front] open"],
            ),
            Msg(
                1,
                "Home/Hall/Sensor1",
                "open",
                &["1s open enter [Hall,] open"],
            ),
            Msg(
                2,
                "Home/Hall/Sensor1/door/back",
                "open",
                &["2s open enter [Hall,door/back] open"],
            ),
            Msg(
                3,
                "Home/Hall/Sensor1/door/front",
                "closed",
                &["3s open leave [Hall,door/front] closed"],
            ),
        ],
    );
}

#[test]
fn captures_fill_action_templates() {
    let mut spec = single("co2", when("+/AirQuality/co2", above(1000.0)));
    spec.on_enter = vec![ActionSpec::Publish {
        topic: template("{1}/Purifier/set"),
        payload: template("ON"),
        qos: 1,
        retain: false,
        properties: Default::default(),
    }];
    let mut engine = Engine::new(vec![spec]);
    let firings = engine.on_message(secs(0), "Kitchen/AirQuality/co2", b"1042");
    let actions: Vec<String> = firings[0].actions.iter().map(|a| a.to_string()).collect();
    assert_eq!(
        actions,
        vec![r#"publish Kitchen/Purifier/set "ON" (qos 1)"#]
    );
}

#[test]
fn captures_and_the_value_fill_publish_properties() {
    let mut spec = single("ask", when("+/Node/+", equals(&["online"])));
    spec.on_enter = vec![ActionSpec::Publish {
        topic: template("{1}/Heater/get"),
        payload: template("schedule"),
        qos: 1,
        retain: false,
        properties: PropertiesSpec {
            response_topic: Some(template("hearth/replies/{1}/{2}")),
            correlation_data: Some(template("{rule}-{1}-{value}")),
            message_expiry: Some(secs(30)),
            content_type: Some("text/plain".into()),
            user_properties: vec![
                ("room".into(), template("{1}")),
                ("source".into(), template("hearth")),
            ],
        },
    }];
    let mut engine = Engine::new(vec![spec]);
    let rooms = [("Kitchen", "status"), ("Attic", "state")];
    for (i, (room, level)) in rooms.into_iter().enumerate() {
        let topic = format!("{room}/Node/{level}");
        let firings = engine.on_message(secs(i as u64), &topic, b"online");
        let [firing] = firings.as_slice() else {
            panic!("{room}: {firings:?}");
        };
        let want = Action::Publish {
            topic: format!("{room}/Heater/get"),
            payload: "schedule".into(),
            qos: 1,
            retain: false,
            properties: Properties {
                response_topic: Some(format!("hearth/replies/{room}/{level}")),
                correlation_data: Some(format!("ask-{room}-online")),
                message_expiry: Some(secs(30)),
                content_type: Some("text/plain".into()),
                user_properties: vec![
                    ("room".into(), room.into()),
                    ("source".into(), "hearth".into()),
                ],
            },
        };
        assert_eq!(firing.actions, vec![want], "{room}");
    }
}

#[test]
fn dollar_topics_are_not_matched_by_a_leading_wildcard() {
    let mut engine = Engine::new(vec![
        single("any", when("#", equals(&["x"]))),
        single("plus", when("+/broker/load", equals(&["x"]))),
        single("sys", when("$SYS/#", equals(&["x"]))),
    ]);
    let firings = engine.on_message(secs(0), "$SYS/broker/load", b"x");
    assert_eq!(briefs(&firings), vec!["0s sys enter [broker/load] x"]);
    let firings = engine.on_message(secs(1), "home/broker/load", b"x");
    assert_eq!(
        briefs(&firings),
        vec![
            "1s any enter [home/broker/load] x",
            "1s plus enter [home] x"
        ]
    );
}

#[test]
fn keys_beyond_the_bound_are_dropped_and_counted() {
    let mut engine = Engine::new(vec![single("hot", when("+/temp", above(25.0)))]);
    for i in 0..MAX_KEYS_PER_RULE {
        engine.on_message(secs(0), &format!("n{i}/temp"), b"20");
    }
    assert_eq!(engine.stats().keys_dropped, 0);
    let firings = engine.on_message(secs(1), "one-too-many/temp", b"30");
    assert!(firings.is_empty());
    assert_eq!(engine.stats().keys_dropped, 1);
    // Known keys still work.
    let firings = engine.on_message(secs(2), "n7/temp", b"30");
    assert_eq!(briefs(&firings), vec!["2s hot enter [n7] 30"]);
}

#[test]
fn an_invalid_filter_never_matches_and_is_not_subscribed() {
    let mut engine = Engine::new(vec![
        single("bad", when("a/#/b", equals(&["x"]))),
        single("good", when("a/+/b", equals(&["x"]))),
    ]);
    assert_eq!(engine.filters(), vec!["a/+/b".to_string()]);
    let firings = engine.on_message(secs(0), "a/x/b", b"x");
    assert_eq!(briefs(&firings), vec!["0s good enter [x] x"]);
}

#[test]
fn filters_are_distinct_and_sorted() {
    let engine = Engine::new(vec![
        single("b", when("z/+", above(1.0))),
        single("a", when("a/#", above(1.0))),
        single("c", when("z/+", below(1.0))),
    ]);
    assert_eq!(engine.filters(), vec!["a/#".to_string(), "z/+".to_string()]);
    assert_eq!(engine.rule_count(), 3);
}

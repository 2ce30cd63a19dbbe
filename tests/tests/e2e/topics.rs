//! Topic filters: wildcard matching, `$` topics, invalid filters, unsubscribe.

use std::time::Duration;

use tests::{encode, start_broker, BrokerOptions, Packet, RawClient, GATEWAY_STATUS_TOPIC, WAIT};
use tokio::task::JoinSet;

const TOPICS: &[&str] = &["a", "a/b", "a/b/c", "a/c", "a//b", "b", "/x", "x/", "/"];

/// Filter and the topics of `TOPICS` it must match (MQTT 4.7.1).
const MATCHES: &[(&str, &[&str])] = &[
    ("#", TOPICS),
    ("a/#", &["a", "a/b", "a/b/c", "a/c", "a//b"]), // MQTT-4.7.1-2: includes the parent
    ("+/#", TOPICS),
    ("/#", &["/x", "/"]),
    ("a/+", &["a/b", "a/c"]),
    ("+", &["a", "b"]),
    ("+/+", &["a/b", "a/c", "/x", "x/", "/"]), // empty levels count
    ("/+", &["/x", "/"]),
    ("+/b", &["a/b"]),
    ("a/+/c", &["a/b/c"]),
    ("a/+/b", &["a//b"]),
    ("a/b", &["a/b"]),
];

#[tokio::test]
async fn wildcard_matching_table() {
    let b = start_broker(BrokerOptions::default()).await;
    let mut subs = Vec::new();
    for (i, (filter, _)) in MATCHES.iter().enumerate() {
        let mut sub = RawClient::connect(b.addr(), &format!("sub{i}")).await;
        assert_eq!(sub.subscribe(filter, 0).await, 0, "filter {filter:?}");
        subs.push(sub);
    }
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    for topic in TOPICS {
        publ.publish(topic, topic, 1, false).await;
    }

    let mut tasks = JoinSet::new();
    for (mut sub, (filter, want)) in subs.into_iter().zip(MATCHES) {
        tasks.spawn(async move {
            let mut got = sub.topics_before_marker().await;
            // The gateway's own retained status also matches `#` and `+/#`.
            got.retain(|t| t != GATEWAY_STATUS_TOPIC);
            got.sort();
            let mut want: Vec<String> = want.iter().map(|t| t.to_string()).collect();
            want.sort();
            (filter, got, want)
        });
    }
    let mut wrong = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (filter, got, want) = result.expect("collector task");
        if got != want {
            wrong.push(format!("{filter:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "wrong matches:\n{}", wrong.join("\n"));
}

// MQTT-4.7.2-1: filters starting with a wildcard do not match `$` topics.
#[tokio::test]
async fn dollar_topics_are_not_matched_by_leading_wildcards() {
    let opts = BrokerOptions {
        sys_interval: Duration::from_secs(1),
        ..Default::default()
    };
    let b = start_broker(opts).await;
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    publ.publish("$foo/bar", "retained", 1, true).await;

    let mut subs = Vec::new();
    for (i, filter) in ["#", "+/bar", "+/#", "+/broker/#"].iter().enumerate() {
        let mut sub = RawClient::connect(b.addr(), &format!("sub{i}")).await;
        sub.subscribe(filter, 0).await;
        subs.push((filter, sub));
    }
    publ.publish("$foo/bar", "live", 1, false).await;
    publ.publish("x/bar", "control", 1, false).await;

    // A $SYS update routed after those subscriptions: a live one (RETAIN=0) that reaches a
    // `$SYS/#` subscriber subscribed after them.
    let mut sys = RawClient::connect(b.addr(), "sys").await;
    sys.subscribe("$SYS/#", 0).await;
    sys.next_publish_where(|p| !p.retain, "live $SYS update")
        .await;
    for (filter, mut sub) in subs {
        let got = sub.collect_before_marker().await;
        let dollar: Vec<_> = got.iter().filter(|p| p.topic.starts_with('$')).collect();
        assert!(dollar.is_empty(), "{filter:?} matched $ topics: {dollar:?}");
        if *filter != "+/broker/#" {
            assert!(
                got.iter().any(|p| p.topic == "x/bar"),
                "{filter:?} missed x/bar"
            );
        }
    }
}

// MQTT-4.7.2-1 counterpart: explicit `$` filters do match.
#[tokio::test]
async fn dollar_topics_are_matched_by_explicit_filters() {
    let opts = BrokerOptions {
        sys_interval: Duration::from_secs(1),
        ..Default::default()
    };
    let b = start_broker(opts).await;
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    publ.publish("$foo/bar", "v", 1, true).await;

    let mut sys = RawClient::connect(b.addr(), "sys").await;
    sys.subscribe("$SYS/#", 0).await;
    let p = sys.next_publish(WAIT).await.expect("a $SYS message");
    assert!(p.topic.starts_with("$SYS/"), "{p:?}");

    for (i, filter) in ["$foo/#", "$foo/+", "$foo/bar"].iter().enumerate() {
        let mut sub = RawClient::connect(b.addr(), &format!("foo{i}")).await;
        sub.subscribe(filter, 0).await;
        let p = sub.next_publish(WAIT).await;
        assert_eq!(
            p.map(|p| p.topic),
            Some("$foo/bar".into()),
            "filter {filter:?}"
        );
    }
}

/// A SUBSCRIBE with `bad` between two valid filters: SUBACK 0x80 for `bad`
/// only, and the valid ones work.
async fn invalid_filter_fails_alone(bad: &str) {
    let b = start_broker(BrokerOptions::default()).await;
    let mut sub = RawClient::connect(b.addr(), "sub").await;
    let codes = sub
        .subscribe_many(&[("ok/1", 1), (bad, 0), ("ok/2", 2)])
        .await;
    assert_eq!(codes, vec![1, 0x80, 2], "SUBACK for [ok/1, {bad:?}, ok/2]");
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    publ.publish("ok/1", "one", 1, false).await;
    publ.publish("ok/2", "two", 1, false).await;
    let got: Vec<String> = sub.topics_before_marker().await;
    assert_eq!(got, ["ok/1", "ok/2"]);
}

// Fail on Mosquitto: it disconnects the client on an invalid filter instead
// of answering 0x80 for that filter.
macro_rules! invalid_filters {
    ($($name:ident: $filter:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            invalid_filter_fails_alone($filter).await;
        }
    )*};
}

invalid_filters! {
    suback_0x80_for_hash_not_last: "a/#/b";              // MQTT-4.7.1-2
    suback_0x80_for_plus_inside_level: "a+";            // MQTT-4.7.1-3
    suback_0x80_for_hash_followed_by_chars: "#a";       // MQTT-4.7.1-2
    suback_0x80_for_hash_inside_level: "a/b#";          // MQTT-4.7.1-2
    suback_0x80_for_empty_filter: "";                   // MQTT-4.7.3-1
}

// MQTT-3.10.4-5: UNSUBACK even when nothing matched.
#[tokio::test]
async fn unsubscribe_of_unknown_filter_gets_unsuback() {
    let b = start_broker(BrokerOptions::default()).await;
    let mut c = RawClient::connect(b.addr(), "c").await;
    c.send(&encode::unsubscribe(42, &["never/subscribed"]))
        .await;
    assert_eq!(c.recv().await, Packet::UnsubAck(42));
}

// MQTT-3.10.4-2: after UNSUBSCRIBE no new messages are delivered.
#[tokio::test]
async fn unsubscribe_stops_delivery() {
    let b = start_broker(BrokerOptions::default()).await;
    let mut sub = RawClient::connect(b.addr(), "sub").await;
    sub.subscribe("u/t", 1).await;
    let mut publ = RawClient::connect(b.addr(), "pub").await;
    publ.publish("u/t", "before", 1, false).await;
    assert_eq!(
        sub.next_publish(WAIT).await.map(|p| p.payload),
        Some(b"before".to_vec())
    );

    sub.unsubscribe("u/t").await;
    publ.publish("u/t", "after", 1, false).await;
    sub.expect_nothing_before_marker().await;
}

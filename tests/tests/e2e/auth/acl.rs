//! Access rules (`[[broker.acl]]`) over real sockets: publish and subscribe allowed and denied,
//! retained messages filtered per topic, `%u` and `%c`, first match wins, the default deny.

use rumqttc::QoS;
use tests::{
    client as mqtt_client, text, BrokerOptions, Connect, RawClient, Users, GATEWAY_STATUS_TOPIC,
};

use super::{allow, broker, client, deny, login, user, with_users, EVERYONE, MARKERS};

const FAILURE: u8 = 0x80;

/// Topic and payload of each message, for assertions.
fn received(got: &[rumqttc::Publish]) -> Vec<(String, String)> {
    got.iter()
        .map(|p| (p.topic.clone(), text(p).to_owned()))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(t, p)| (t.to_string(), p.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_publish_is_acknowledged_at_qos_1_and_2_and_never_delivered() {
    let rules = format!(
        "{MARKERS}{}{}",
        allow(&client("esp-kitchen"), "write", "Kitchen/#"),
        allow(EVERYONE, "read", "#"),
    );
    let b = broker(BrokerOptions::default(), &rules).await;
    let mut watcher = mqtt_client(&b, "watcher", Some("#")).await;
    watcher.expect_on(GATEWAY_STATUS_TOPIC, "online").await;

    let mut node = RawClient::connect(b.addr(), "esp-kitchen").await;
    for qos in [0, 1, 2] {
        // `publish` waits for PUBACK, or PUBREC and (after PUBREL) PUBCOMP, with its packet id.
        node.publish(
            "Garage/Door/state",
            format!("spoofed at QoS {qos}"),
            qos,
            true,
        )
        .await;
    }
    node.publish("Kitchen/Fridge/temperature", "4.2", 1, false)
        .await;
    assert_eq!(
        received(&watcher.collect_before_marker().await),
        pairs(&[("Kitchen/Fridge/temperature", "4.2")])
    );
    // Nor was the retained one stored.
    let mut later = mqtt_client(&b, "later", Some("Garage/#")).await;
    later.expect_nothing_before_marker().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_filter_gets_suback_0x80_and_the_others_in_the_same_subscribe_are_granted() {
    let rules = format!(
        "{MARKERS}{}{}",
        allow(&client("phone"), "read", "Kitchen/#"),
        allow(&client("sensor"), "write", "#"),
    );
    let b = broker(BrokerOptions::default(), &rules).await;
    let mut phone = RawClient::connect(b.addr(), "phone").await;
    let codes = phone
        .subscribe_many(&[
            ("Kitchen/#", 1),
            ("Garage/#", 1),
            ("Kitchen/Fridge/+", 2),
            // Overlaps what the phone may read: granted, and filtered topic by topic (the
            // gateway's retained status, which it may not read, does not come).
            ("#", 0),
        ])
        .await;
    assert_eq!(codes, [1, FAILURE, 2, 0]);

    let mut sensor = RawClient::connect(b.addr(), "sensor").await;
    sensor.publish("Garage/Door/state", "open", 1, false).await;
    sensor
        .publish("Kitchen/Fridge/temperature", "4.2", 1, false)
        .await;
    let got = phone.collect_before_marker().await;
    let topics: Vec<&str> = got.iter().map(|p| p.topic.as_str()).collect();
    assert_eq!(
        topics,
        ["Kitchen/Fridge/temperature"],
        "once, through the granted filters"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_subscriber_allowed_only_kitchen_gets_kitchens_retained_messages_and_not_garages() {
    let rules = format!(
        "{MARKERS}{}{}",
        allow(&client("phone"), "read", "Kitchen/#"),
        allow(&client("sensor"), "write", "#"),
    );
    let b = broker(BrokerOptions::default(), &rules).await;
    let mut sensor = RawClient::connect(b.addr(), "sensor").await;
    sensor
        .publish("Kitchen/Fridge/temperature", "4.2", 1, true)
        .await;
    sensor.publish("Garage/Door/state", "open", 1, true).await;

    let mut phone = RawClient::connect(b.addr(), "phone").await;
    assert_eq!(phone.subscribe("#", 1).await, 1);
    let retained = phone.collect_before_marker().await;
    let got: Vec<(&str, &str, bool)> = retained
        .iter()
        .map(|p| (p.topic.as_str(), p.payload_str(), p.retain))
        .collect();
    assert_eq!(got, [("Kitchen/Fridge/temperature", "4.2", true)]);

    // Live messages through the same subscription are filtered the same way.
    sensor.publish("Garage/Door/state", "closed", 1, true).await;
    sensor
        .publish("Kitchen/Fridge/temperature", "4.3", 1, true)
        .await;
    let live = phone.collect_before_marker().await;
    let got: Vec<(&str, &str)> = live
        .iter()
        .map(|p| (p.topic.as_str(), p.payload_str()))
        .collect();
    assert_eq!(got, [("Kitchen/Fridge/temperature", "4.3")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_may_write_only_kitchen_fridge_and_read_only_its_own_set_topic() {
    let users = Users::new(
        "acl-node",
        &[
            ("fridge-node", "cold"),
            ("oven-node", "hot"),
            ("alice", "phone"),
        ],
    );
    let rules = format!(
        "{MARKERS}{}{}{}{}",
        allow(&user("fridge-node"), "write", "Kitchen/Fridge/#"),
        // %c: each node reads the commands for its own client id.
        allow(EVERYONE, "read", "%c/set"),
        // %u: each user has a private subtree.
        allow(EVERYONE, "readwrite", "users/%u/#"),
        allow(&user("alice"), "readwrite", "#"),
    );
    let b = broker(with_users(&users), &rules).await;
    let mut phone = login(b.addr(), "alice-phone", "alice", "phone").await;
    phone.subscribe("#", QoS::AtLeastOnce).await;
    phone.expect_on(GATEWAY_STATUS_TOPIC, "online").await;

    let (mut node, _) = RawClient::connect_with(
        b.addr(),
        &Connect::new("esp-fridge").credentials("fridge-node", "cold"),
    )
    .await;
    node.publish("Kitchen/Fridge/temperature", "4.2", 1, false)
        .await;
    node.publish("Kitchen/Oven/temperature", "200", 1, false)
        .await;
    node.publish("users/fridge-node/note", "mine", 1, false)
        .await;
    node.publish("users/oven-node/note", "not mine", 1, false)
        .await;
    assert_eq!(
        received(&phone.collect_before_marker().await),
        pairs(&[
            ("Kitchen/Fridge/temperature", "4.2"),
            ("users/fridge-node/note", "mine"),
        ])
    );

    let codes = node
        .subscribe_many(&[
            ("esp-fridge/set", 1),
            ("esp-oven/set", 1),
            ("users/fridge-node/#", 1),
            ("users/oven-node/#", 1),
            // Overlaps its own command topic: granted, and filtered per topic.
            ("+/set", 1),
        ])
        .await;
    assert_eq!(codes, [1, FAILURE, 1, FAILURE, 1]);
    phone
        .publish("esp-oven/set", QoS::AtLeastOnce, false, "preheat")
        .await;
    phone
        .publish("esp-fridge/set", QoS::AtLeastOnce, false, "defrost")
        .await;
    phone
        .publish("users/oven-node/note", QoS::AtLeastOnce, false, "for oven")
        .await;
    // The phone's own marker comes after its three publishes: all routed by then.
    phone.collect_before_marker().await;
    let got = node.collect_before_marker().await;
    let got: Vec<(&str, &str)> = got
        .iter()
        .map(|p| (p.topic.as_str(), p.payload_str()))
        .collect();
    assert_eq!(got, [("esp-fridge/set", "defrost")]);

    // Another node with the same rules gets its own topics, not the fridge's.
    let (mut oven, _) = RawClient::connect_with(
        b.addr(),
        &Connect::new("esp-oven").credentials("oven-node", "hot"),
    )
    .await;
    assert_eq!(
        oven.subscribe_many(&[("esp-oven/set", 1), ("esp-fridge/set", 1)])
            .await,
        [1, FAILURE]
    );
    oven.publish("Kitchen/Fridge/temperature", "-40", 1, false)
        .await;
    oven.publish("users/oven-node/note", "oven's", 1, false)
        .await;
    assert_eq!(
        received(&phone.collect_before_marker().await),
        pairs(&[("users/oven-node/note", "oven's")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_matching_rule_wins_and_what_no_rule_allows_is_denied() {
    let users = Users::new("acl-order", &[("alice", "a"), ("bob", "b"), ("carol", "c")]);
    let rules = format!(
        "{MARKERS}{}{}{}{}{}",
        deny(&user("alice"), "write", "Kitchen/Fridge/#"),
        allow(&user("alice"), "write", "Kitchen/#"),
        allow(&user("bob"), "write", "Kitchen/#"),
        deny(&user("bob"), "write", "Kitchen/Fridge/#"),
        allow(&client("watcher"), "read", "#"),
    );
    let b = broker(with_users(&users), &rules).await;
    // Carol has no rule of her own; the watcher's is for its client id.
    let mut watcher = login(b.addr(), "watcher", "carol", "c").await;
    watcher.subscribe("Kitchen/#", QoS::AtLeastOnce).await;

    let (mut alice, _) = RawClient::connect_with(
        b.addr(),
        &Connect::new("alice-phone").credentials("alice", "a"),
    )
    .await;
    alice
        .publish("Kitchen/Fridge/door", "alice", 1, false)
        .await;
    alice.publish("Kitchen/Oven/set", "alice", 1, false).await;
    let (mut bob, _) =
        RawClient::connect_with(b.addr(), &Connect::new("bob-phone").credentials("bob", "b")).await;
    bob.publish("Kitchen/Fridge/door", "bob", 1, false).await;
    bob.publish("Kitchen/Oven/set", "bob", 1, false).await;
    assert_eq!(
        received(&watcher.collect_before_marker().await),
        pairs(&[
            ("Kitchen/Oven/set", "alice"),
            ("Kitchen/Fridge/door", "bob"),
            ("Kitchen/Oven/set", "bob"),
        ])
    );

    // Rules exist, none for carol's phone: it may do nothing (its markers excepted).
    let (mut carol, _) = RawClient::connect_with(
        b.addr(),
        &Connect::new("carol-phone").credentials("carol", "c"),
    )
    .await;
    assert_eq!(
        carol
            .subscribe_many(&[("Kitchen/#", 1), ("#", 0), ("Garage/Door/state", 2)])
            .await,
        [FAILURE, FAILURE, FAILURE]
    );
    carol.publish("Kitchen/Oven/set", "carol", 1, false).await;
    watcher.expect_nothing_before_marker().await;
    carol.expect_nothing_before_marker().await;
}

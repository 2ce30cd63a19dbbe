//! Reloading users, access rules and anonymous access with clients connected (as SIGHUP does):
//! nobody is dropped unless their rights went, and rights that went are gone at once.

use rumqttc::QoS;
use tests::{Connect, RawClient, Users, Will, WAIT};

use super::{allow, bare, broker, client, login, with_users, MARKERS};

const BAD_CREDENTIALS: u8 = 4;

/// A raw client logged in as `user`.
async fn logged_in(b: &tests::TestBroker, id: &str, user: &str, password: &str) -> RawClient {
    RawClient::connect_with(b.addr(), &Connect::new(id).credentials(user, password))
        .await
        .0
}

/// Proves `c` is still connected and served: a round trip through the router, then one of
/// its own messages back through its subscription to `Hall/#`.
async fn still_served(c: &mut RawClient, id: &str) {
    c.ping().await;
    c.publish(&format!("Hall/{id}"), "still here", 1, false)
        .await;
    let p = c.next_publish(WAIT).await.expect("its own message back");
    assert_eq!(
        (p.topic.as_str(), p.payload_str()),
        (format!("Hall/{id}").as_str(), "still here")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_added_by_a_reload_can_connect_and_nobody_connected_is_dropped() {
    let users = Users::new("reload-add", &[("alice", "a")]);
    let mut b = broker(with_users(&users), "").await;
    let mut alice = logged_in(&b, "alice-phone", "alice", "a").await;
    alice.subscribe("Hall/#", 1).await;
    let carol = Connect::new("carol-node").credentials("carol", "c");
    assert_eq!(RawClient::refused(b.addr(), &carol).await, BAD_CREDENTIALS);

    users.set("carol", "c");
    b.reload(&bare("")).await;
    let (mut carol, _) = RawClient::connect_with(b.addr(), &carol).await;
    carol.publish("Hall/carol", "hello", 1, false).await;
    let p = alice.next_publish(WAIT).await.expect("carol's message");
    assert_eq!(p.payload_str(), "hello");
    still_served(&mut alice, "alice").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_user_is_disconnected_with_its_will_published_and_the_others_stay() {
    let users = Users::new(
        "reload-remove",
        &[("alice", "a"), ("bob", "b"), ("carol", "c")],
    );
    let mut b = broker(with_users(&users), "").await;
    let (mut alice, _) = RawClient::connect_with(
        b.addr(),
        &Connect::new("alice-node")
            .credentials("alice", "a")
            .will(Will::new("Nodes/alice/status", "offline", 1, false)),
    )
    .await;
    let mut bob = login(b.addr(), "bob-phone", "bob", "b").await;
    bob.subscribe("Nodes/#", QoS::AtLeastOnce).await;
    let mut carol = logged_in(&b, "carol-node", "carol", "c").await;
    carol.subscribe("Hall/#", 1).await;

    // A reload that changes nobody's rights drops nobody.
    b.reload(&bare("")).await;
    alice.ping().await;
    bob.expect_nothing_before_marker().await;

    users.remove("alice");
    b.reload(&bare("")).await;
    assert_eq!(
        alice.expect_closed(WAIT).await,
        [],
        "closed without a word (MQTT 3.1.1 has no server DISCONNECT)"
    );
    bob.expect_on("Nodes/alice/status", "offline").await;
    still_served(&mut carol, "carol").await;
    bob.expect_nothing_before_marker().await;
    assert_eq!(
        RawClient::refused(
            b.addr(),
            &Connect::new("alice-node").credentials("alice", "a")
        )
        .await,
        BAD_CREDENTIALS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_password_disconnects_that_users_clients_only() {
    let users = Users::new("reload-password", &[("alice", "old"), ("bob", "b")]);
    let mut b = broker(with_users(&users), "").await;
    let mut phone = logged_in(&b, "alice-phone", "alice", "old").await;
    let mut tablet = logged_in(&b, "alice-tablet", "alice", "old").await;
    let mut bob = logged_in(&b, "bob-phone", "bob", "b").await;
    bob.subscribe("Hall/#", 1).await;

    users.set("alice", "new");
    b.reload(&bare("")).await;
    phone.expect_closed(WAIT).await;
    tablet.expect_closed(WAIT).await;
    still_served(&mut bob, "bob").await;
    let old = Connect::new("alice-phone").credentials("alice", "old");
    assert_eq!(RawClient::refused(b.addr(), &old).await, BAD_CREDENTIALS);
    let (mut phone, _) = RawClient::connect_with(
        b.addr(),
        &Connect::new("alice-phone").credentials("alice", "new"),
    )
    .await;
    phone.ping().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrowed_rule_takes_a_subscription_and_a_publish_right_away_at_once() {
    let rules = |phone_rule: &str| {
        bare(&format!(
            "{MARKERS}{phone_rule}{}{}",
            allow(&client("watcher"), "read", "#"),
            allow(&client("sensor"), "write", "#"),
        ))
    };
    let wide = allow(&client("phone"), "readwrite", "Kitchen/#");
    let narrow = allow(&client("phone"), "read", "Garage/#");
    let mut b = tests::start_gateway(tests::BrokerOptions::default(), &rules(&wide)).await;
    let mut phone = RawClient::connect(b.addr(), "phone").await;
    assert_eq!(phone.subscribe("Kitchen/Oven/#", 1).await, 1);
    let mut watcher = RawClient::connect(b.addr(), "watcher").await;
    watcher.subscribe("Kitchen/Lamp/set", 1).await;
    let mut sensor = RawClient::connect(b.addr(), "sensor").await;

    sensor
        .publish("Kitchen/Oven/state", "before", 1, false)
        .await;
    let p = phone.next_publish(WAIT).await.expect("the oven's state");
    assert_eq!(p.payload_str(), "before");
    phone.publish("Kitchen/Lamp/set", "ON", 1, false).await;
    let p = watcher
        .next_publish(WAIT)
        .await
        .expect("the phone's command");
    assert_eq!(p.payload_str(), "ON");

    b.reload(&rules(&narrow)).await;
    sensor
        .publish("Kitchen/Oven/state", "narrowed", 1, false)
        .await;
    phone.publish("Kitchen/Lamp/set", "OFF", 1, false).await;
    // Still connected (its marker comes back), and nothing from Kitchen came before it.
    phone.expect_nothing_before_marker().await;
    watcher.expect_nothing_before_marker().await;

    // The subscription was removed, not only filtered: widening the rule again does not
    // bring it back.
    b.reload(&rules(&wide)).await;
    sensor
        .publish("Kitchen/Oven/state", "widened", 1, false)
        .await;
    phone.expect_nothing_before_marker().await;
    assert_eq!(phone.subscribe("Kitchen/Oven/#", 1).await, 1);
    sensor
        .publish("Kitchen/Oven/state", "subscribed again", 1, false)
        .await;
    let got = phone.collect_before_marker().await;
    assert_eq!(tests::payloads(&got), ["subscribed again"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_clients_go_when_their_listener_no_longer_lets_them_in() {
    let users = Users::new("reload-anonymous", &[("alice", "a")]);
    let guests = |open: bool| {
        format!(
            "\n[[broker.listener]]\nname = \"guests\"\naddress = \"127.0.0.1:0\"\n\
             allow_anonymous = {open}\n"
        )
    };
    let mut b = broker(with_users(&users), &guests(true)).await;
    let at = b.listener_addr("guests");
    let (mut guest, _) = RawClient::connect_with(
        at,
        &Connect::new("guest").will(Will::new("Hall/guest/status", "offline", 1, false)),
    )
    .await;
    let (mut alice, _) =
        RawClient::connect_with(at, &Connect::new("alice-phone").credentials("alice", "a")).await;
    alice.subscribe("Hall/#", 1).await;
    guest.ping().await;

    b.reload(&bare(&guests(false))).await;
    guest.expect_closed(WAIT).await;
    let will = alice.next_publish(WAIT).await.expect("the guest's will");
    assert_eq!(
        (will.topic.as_str(), will.payload_str()),
        ("Hall/guest/status", "offline")
    );
    still_served(&mut alice, "alice").await;
    assert_eq!(RawClient::refused(at, &Connect::new("guest")).await, 5);
}

//! Sessions in MQTT 5.0: Clean Start and Session Expiry Interval (3.1.2.4, 3.1.2.11.2), a new
//! interval in DISCONNECT (3.14.2.2.2), and takeover (3.1.4).

use broker::codec::v5::{Connect, DisconnectReason, QoS, SubackReason};
use rumqttc::v5::mqttbytes::v5::Filter;
use tests::raw5::{self, Raw5Client};
use tests::TestBroker;

use super::rumqttc5::{self, V5Client};
use super::{broker, broker_clock_passes};

/// Publishes `payloads` at QoS 1 to `topic` from a client of its own.
async fn publish_all(b: &TestBroker, topic: &str, payloads: &[&str]) {
    let (mut publisher, _) = Raw5Client::connect(b.addr(), "publisher").await;
    for payload in payloads {
        publisher
            .publish(topic, payload, QoS::AtLeastOnce, false)
            .await;
    }
    publisher.disconnect().await;
}

/// Connects `connect` (which must find no session), subscribes to `filter` at QoS 1 and
/// disconnects normally.
async fn park(b: &TestBroker, connect: &Connect, filter: &str) {
    let (mut c, ack) = Raw5Client::connect_with(b.addr(), connect).await;
    assert!(!ack.session_present, "no session yet (MQTT-3.2.2-3)");
    assert_eq!(
        c.subscribe(filter, QoS::AtLeastOnce).await,
        SubackReason::GrantedQos1
    );
    c.disconnect().await;
}

// MQTT-3.1.2-23, MQTT-3.2.2-3: with a Session Expiry Interval above 0 the session outlives
// the connection, with its subscriptions and the QoS 1 messages that came while it was away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_with_an_expiry_interval_survives_a_disconnect() {
    let b = broker().await;
    park(&b, &raw5::persistent("sess", 300), "s/t").await;
    publish_all(&b, "s/t", &["1", "2", "3"]).await;

    let (mut c, ack) = Raw5Client::connect_with(b.addr(), &raw5::persistent("sess", 300)).await;
    assert!(ack.session_present, "session present (MQTT-3.2.2-3)");
    let got = c.received_before_marker().await;
    let want: Vec<(String, String)> = ["1", "2", "3"]
        .iter()
        .map(|p| ("s/t".to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(got, want, "the queued QoS 1 messages, in order");

    // The subscription is still there: live messages come without a new SUBSCRIBE.
    publish_all(&b, "s/t", &["live"]).await;
    let p = c.next_on("s/t").await;
    assert_eq!(raw5::text(&p), "live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_with_an_expiry_interval_survives_a_dropped_connection() {
    let b = broker().await;
    let (mut c, _) = Raw5Client::connect_with(b.addr(), &raw5::persistent("dropped", 300)).await;
    assert_eq!(
        c.subscribe("s/drop", QoS::AtLeastOnce).await,
        SubackReason::GrantedQos1
    );
    c.reset();
    let (mut c, ack) = Raw5Client::connect_with(b.addr(), &raw5::persistent("dropped", 300)).await;
    assert!(
        ack.session_present,
        "session present after a dropped connection"
    );
    publish_all(&b, "s/drop", &["kept"]).await;
    let p = c.next_on("s/drop").await;
    assert_eq!(raw5::text(&p), "kept");
}

// 3.1.2.11.2: "If the Session Expiry Interval is absent the value 0 is used": the session
// ends when the Network Connection is closed, even with Clean Start 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_start_0_without_an_expiry_interval_ends_the_session_at_disconnect() {
    let b = broker().await;
    let mut connect = raw5::connect("no-expiry");
    connect.clean_start = false;
    park(&b, &connect, "s/gone").await;
    publish_all(&b, "s/gone", &["lost"]).await;

    let (mut c, ack) = Raw5Client::connect_with(b.addr(), &connect).await;
    assert!(
        !ack.session_present,
        "the session ended with the connection (3.1.2.11.2)"
    );
    publish_all(&b, "s/gone", &["after"]).await;
    c.expect_nothing_before_marker().await;
}

// MQTT-3.1.2-4: Clean Start 1 discards an existing session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_start_1_discards_the_session() {
    let b = broker().await;
    park(&b, &raw5::persistent("clean", 300), "s/clean").await;
    publish_all(&b, "s/clean", &["queued"]).await;

    let mut connect = raw5::persistent("clean", 300);
    connect.clean_start = true;
    let (mut c, ack) = Raw5Client::connect_with(b.addr(), &connect).await;
    assert!(!ack.session_present, "Clean Start 1 (MQTT-3.2.2-2)");
    // Neither the queued message nor the old subscription survived.
    publish_all(&b, "s/clean", &["live"]).await;
    c.expect_nothing_before_marker().await;
}

// 3.1.2.11.2: once the interval has passed after the connection closed, the session is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_expiry_interval_passed_is_gone() {
    let b = broker().await;
    park(&b, &raw5::persistent("brief", 1), "s/brief").await;
    // Twice the interval on the broker's clock, counted from after the disconnect.
    broker_clock_passes(&b, 2).await;

    let (mut c, ack) = Raw5Client::connect_with(b.addr(), &raw5::persistent("brief", 1)).await;
    assert!(
        !ack.session_present,
        "the session expired 1 s after the disconnect (3.1.2.11.2)"
    );
    publish_all(&b, "s/brief", &["after"]).await;
    c.expect_nothing_before_marker().await;
}

// 3.14.2.2.2: a DISCONNECT may set a new Session Expiry Interval; 0 ends the session now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_with_session_expiry_0_ends_the_session() {
    let b = broker().await;
    let (mut c, _) = Raw5Client::connect_with(b.addr(), &raw5::persistent("ending", 300)).await;
    c.subscribe("s/end", QoS::AtLeastOnce).await;
    c.disconnect_with(
        DisconnectReason::NormalDisconnection,
        raw5::session_expiry(0),
    )
    .await;

    let (mut c, ack) = Raw5Client::connect_with(b.addr(), &raw5::persistent("ending", 300)).await;
    assert!(
        !ack.session_present,
        "DISCONNECT's Session Expiry Interval 0 ended the session (3.14.2.2.2)"
    );
    publish_all(&b, "s/end", &["after"]).await;
    c.expect_nothing_before_marker().await;
}

// 3.14.2.2.2: the DISCONNECT's interval replaces the CONNECT's: raised from 1 s to 300 s,
// the session is still there after the 1 s has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_may_raise_the_session_expiry_interval() {
    let b = broker().await;
    let (mut c, _) = Raw5Client::connect_with(b.addr(), &raw5::persistent("raised", 1)).await;
    c.subscribe("s/raised", QoS::AtLeastOnce).await;
    c.disconnect_with(
        DisconnectReason::NormalDisconnection,
        raw5::session_expiry(300),
    )
    .await;
    broker_clock_passes(&b, 2).await;
    publish_all(&b, "s/raised", &["kept"]).await;

    let (mut c, ack) = Raw5Client::connect_with(b.addr(), &raw5::persistent("raised", 300)).await;
    assert!(
        ack.session_present,
        "the DISCONNECT's 300 s replaced the CONNECT's 1 s"
    );
    let got = c.received_before_marker().await;
    assert_eq!(got, [("s/raised".to_owned(), "kept".to_owned())]);
}

// 3.14.2.2.2: "If the Session Expiry Interval in the CONNECT packet was zero, then it is a
// Protocol Error to set a non-zero Session Expiry Interval in the DISCONNECT packet sent by
// the Client": the server answers DISCONNECT 0x82 and the session still ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_zero_session_expiry_in_disconnect_after_0_in_connect_gets_disconnect_0x82() {
    let b = broker().await;
    let mut connect = raw5::connect("zero");
    connect.clean_start = false;
    let (mut c, _) = Raw5Client::connect_with(b.addr(), &connect).await;
    c.subscribe("s/zero", QoS::AtLeastOnce).await;
    c.send_disconnect(
        DisconnectReason::NormalDisconnection,
        raw5::session_expiry(60),
    )
    .await;
    assert_eq!(c.expect_disconnect().await, DisconnectReason::ProtocolError);

    let (_c, ack) = Raw5Client::connect_with(b.addr(), &connect).await;
    assert!(
        !ack.session_present,
        "the session had interval 0 and ended with the connection"
    );
}

// MQTT-3.1.4-3: a second connection with the same Client Identifier takes the session over;
// the first gets DISCONNECT 0x8E (Session taken over) and is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_with_the_same_client_id_gets_the_first_disconnect_0x8e() {
    let b = broker().await;
    let (mut first, _) = Raw5Client::connect_with(b.addr(), &raw5::persistent("twice", 300)).await;
    first.subscribe("s/twice", QoS::AtLeastOnce).await;
    let (mut second, ack) =
        Raw5Client::connect_with(b.addr(), &raw5::persistent("twice", 300)).await;
    assert_eq!(
        first.expect_disconnect().await,
        DisconnectReason::SessionTakenOver
    );
    assert!(
        ack.session_present,
        "the session passed to the new connection"
    );
    publish_all(&b, "s/twice", &["to the second"]).await;
    let p = second.next_on("s/twice").await;
    assert_eq!(raw5::text(&p), "to the second");
}

// The same with rumqttc's v5 client: a persistent session, messages queued while it is away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rumqttc_v5_resumes_its_session_and_gets_what_was_queued() {
    let b = broker().await;
    let opts = || {
        let mut o = rumqttc5::options(b.addr(), "rumqttc-session");
        o.set_clean_start(false)
            .set_session_expiry_interval(Some(300));
        o
    };
    let (mut c, ack) = V5Client::connect(opts()).await;
    assert!(!ack.session_present);
    c.subscribe(Filter::new(
        "s/rumqttc",
        rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
    ))
    .await;
    c.disconnect().await;

    publish_all(&b, "s/rumqttc", &["while away"]).await;
    let (mut c, ack) = V5Client::connect(opts()).await;
    assert!(ack.session_present, "rumqttc v5 resumed its session");
    let p = c.next_on("s/rumqttc").await;
    assert_eq!(&p.payload[..], b"while away");
}

//! MQTT over TLS (`kind = "tls"`) and WebSocket over TLS (`kind = "wss"`) with a CA, server
//! and client certificates made at test time: rumqttc and a raw rustls client against the real
//! listeners, client certificates required and their Common Name used as the user name, and a
//! renewed certificate picked up on reload while connected clients keep theirs.

use std::net::SocketAddr;
use std::sync::Arc;

use rumqttc::QoS;
use tests::encode::Connect;
use tests::{
    client, start_gateway, tls_options, wss_options, BrokerOptions, MqttClient, Packet, Pki,
    RawClient, TestBroker, WAIT,
};

const NO_DISCOVERY: &str = "\n[homeassistant]\ndiscovery = false\n";

async fn broker(listeners: &str) -> TestBroker {
    start_gateway(
        BrokerOptions::default(),
        &format!("{listeners}{NO_DISCOVERY}"),
    )
    .await
}

/// Asserts the broker does not serve MQTT to this TLS client: the handshake fails, or the
/// CONNECT sent after it gets no CONNACK and the connection ends.
async fn expect_refused(addr: SocketAddr, config: Arc<rustls::ClientConfig>) {
    let stream = match tests::tls::connect(addr, config).await {
        Ok(stream) => stream,
        // TLS 1.2 refuses during the handshake.
        Err(_) => return,
    };
    // TLS 1.3 finishes the client's side of the handshake before the server has checked the
    // client's certificate: the refusal arrives as an alert on the first read.
    let mut c = RawClient::over(stream);
    let _ = c.try_send(&Connect::new("no-cert").encode()).await;
    let got = c.expect_closed(WAIT).await;
    assert!(
        !got.iter().any(|p| matches!(p, Packet::ConnAck { .. })),
        "refused client got {got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_tcp_clients_exchange_messages_both_ways() {
    let pki = Pki::new();
    let b = broker(&pki.listener("tls", "tls", "")).await;
    let tls = b.listener_addr("tls");
    let (mut phone, _) =
        MqttClient::connect(tls_options(tls, "phone", pki.client_config(None))).await;
    let mut node = client(&b, "node", Some("to-node/#")).await;
    phone.subscribe("to-phone/#", QoS::ExactlyOnce).await;

    node.publish("to-phone/relay", QoS::ExactlyOnce, false, "on")
        .await;
    let got = phone.expect_on("to-phone/relay", "on").await;
    assert_eq!(got.qos, QoS::ExactlyOnce);
    phone
        .publish("to-node/ack", QoS::AtLeastOnce, false, "done")
        .await;
    let got = node.expect_on("to-node/ack", "done").await;
    assert_eq!(got.qos, QoS::AtLeastOnce);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_client_exchanges_messages_with_a_tcp_client() {
    let pki = Pki::new();
    let b = broker(&pki.listener("wss", "wss", "")).await;
    let wss = b.listener_addr("wss");
    let (mut phone, _) =
        MqttClient::connect(wss_options(wss, "/mqtt", "phone", pki.client_config(None))).await;
    let mut node = client(&b, "node", Some("to-node/#")).await;
    phone.subscribe("to-phone/#", QoS::AtLeastOnce).await;
    node.publish("to-phone/light", QoS::AtLeastOnce, false, "off")
        .await;
    phone.expect_on("to-phone/light", "off").await;
    phone
        .publish("to-node/light", QoS::AtLeastOnce, false, "ok")
        .await;
    node.expect_on("to-node/light", "ok").await;

    // A raw client over wss too: TLS, then the upgrade, then MQTT.
    let mut raw = RawClient::wss(wss, "/mqtt", pki.client_config(None)).await;
    raw.send(&Connect::new("raw-wss").encode()).await;
    assert_eq!(
        raw.recv().await,
        Packet::ConnAck {
            session_present: false,
            code: 0
        }
    );
    assert_eq!(raw.subscribe("to-phone/#", 1).await, 1);
    node.publish("to-phone/light", QoS::AtLeastOnce, false, "on")
        .await;
    let got = raw.next_publish(WAIT).await.expect("message over wss");
    assert_eq!(got.payload_str(), "on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_is_required_where_the_listener_says_so() {
    let pki = Pki::new();
    let extra = format!(
        "{}\nrequire_client_certificate = true",
        pki.client_ca_line()
    );
    let b = broker(&pki.listener("tls", "tls", &extra)).await;
    let tls = b.listener_addr("tls");

    expect_refused(tls, pki.client_config(None)).await;
    // A certificate from another CA is no better than none.
    let stranger = Pki::new();
    let foreign = stranger.client("esp-kitchen");
    expect_refused(tls, pki.client_config(Some(&foreign))).await;

    let leaf = pki.client("esp-kitchen");
    let (mut node, _) = RawClient::tls(tls, pki.client_config(Some(&leaf)))
        .await
        .handshake(&Connect::new("esp-kitchen"))
        .await;
    node.ping().await;
}

/// A tls listener that maps the client certificate's Common Name to the user name, and access
/// rules: the node `esp-kitchen` may write `Kitchen/#` only; everyone may read everything; the
/// test clients' markers are allowed.
fn identity_config(pki: &Pki) -> String {
    let extra = format!(
        "{}\nrequire_client_certificate = true\nuse_identity_as_username = true",
        pki.client_ca_line()
    );
    format!(
        "{}
[[broker.acl]]
user = \"esp-kitchen\"
allow = \"write\"
topic = \"Kitchen/#\"

[[broker.acl]]
allow = \"readwrite\"
topic = \"$marker/#\"

[[broker.acl]]
allow = \"read\"
topic = \"#\"
",
        pki.listener("tls", "tls", &extra)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_common_name_is_the_user_name_in_access_rules() {
    let pki = Pki::new();
    let b = broker(&identity_config(&pki)).await;
    let tls = b.listener_addr("tls");
    let mut obs = RawClient::connect(b.addr(), "obs").await;
    assert_eq!(
        obs.subscribe_many(&[("Kitchen/#", 1), ("Garage/#", 1)])
            .await,
        [1, 1]
    );

    let kitchen = pki.client("esp-kitchen");
    let (mut node, _) = RawClient::tls(tls, pki.client_config(Some(&kitchen)))
        .await
        .handshake(&Connect::new("node-1"))
        .await;
    // Denied PUBLISHes are acknowledged and dropped (as Mosquitto does for 3.1.1).
    node.publish("Garage/door", "open", 1, false).await;
    node.publish("Kitchen/Fridge/temperature", "4.2", 1, false)
        .await;

    // The same client id with another certificate is another user: it may not write Kitchen.
    let garage = pki.client("esp-garage");
    let (mut other, _) = RawClient::tls(tls, pki.client_config(Some(&garage)))
        .await
        .handshake(&Connect::new("node-2"))
        .await;
    other
        .publish("Kitchen/Fridge/temperature", "99", 1, false)
        .await;

    let got = obs.collect_before_marker().await;
    let got: Vec<(String, String)> = got
        .iter()
        .map(|p| (p.topic.clone(), p.payload_str().to_owned()))
        .collect();
    assert_eq!(
        got,
        [("Kitchen/Fridge/temperature".to_string(), "4.2".to_string())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_serves_a_renewed_certificate_to_new_connections_and_keeps_old_ones() {
    let mut pki = Pki::new();
    let listeners = format!("{}{NO_DISCOVERY}", pki.listener("tls", "tls", ""));
    let mut b = start_gateway(BrokerOptions::default(), &listeners).await;
    let tls = b.listener_addr("tls");

    let before = tests::tls::connect(tls, pki.client_config(None))
        .await
        .expect("TLS with the first certificate");
    assert_eq!(tests::tls::served_certificate(&before), pki.server.der);
    let (mut old, _) = RawClient::over(before)
        .handshake(&Connect::new("before"))
        .await;
    assert_eq!(old.subscribe("renewal/#", 1).await, 1);

    let first = pki.renew_server_certificate("hearth-renewed");
    b.reload(&listeners).await;

    let after = tests::tls::connect(tls, pki.client_config(None))
        .await
        .expect("TLS with the renewed certificate");
    let served = tests::tls::served_certificate(&after);
    assert_eq!(served, pki.server.der, "the renewed certificate is served");
    assert_ne!(served, first.der);
    let (mut new, _) = RawClient::over(after)
        .handshake(&Connect::new("after"))
        .await;
    assert_eq!(new.subscribe("renewal/#", 1).await, 1);

    // The connection made before the reload carries on, both ways.
    new.publish("renewal/from-new", "1", 1, false).await;
    let got = old
        .next_publish(WAIT)
        .await
        .expect("message on the old connection");
    assert_eq!(got.topic, "renewal/from-new");
    old.publish("renewal/from-old", "2", 1, false).await;
    let topics: Vec<String> = [
        new.next_publish(WAIT).await.expect("own message"),
        new.next_publish(WAIT)
            .await
            .expect("the old connection's message"),
    ]
    .into_iter()
    .map(|p| p.topic)
    .collect();
    assert_eq!(topics, ["renewal/from-new", "renewal/from-old"]);
}

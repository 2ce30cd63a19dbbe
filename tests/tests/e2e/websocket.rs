//! MQTT over WebSocket (`kind = "ws"`): rumqttc's WebSocket transport and a raw tungstenite
//! client against the real listener. WebSocket clients behave exactly like TCP clients
//! (QoS, retained, wills, sessions), frames do not have to line up with packets, and a
//! request the listener cannot serve gets an HTTP answer that says why.

use std::net::SocketAddr;

use rumqttc::QoS;
use tests::encode::{self, Connect, Will};
use tests::{
    client, payloads, start_gateway, text, ws, ws_options, BrokerOptions, MqttClient, Packet,
    RawClient, TestBroker, WS_LISTENER,
};
use tokio_tungstenite::tungstenite;

async fn broker() -> (TestBroker, SocketAddr) {
    let b = start_gateway(BrokerOptions::default(), WS_LISTENER).await;
    let ws = b.listener_addr("ws");
    (b, ws)
}

async fn ws_client(addr: SocketAddr, id: &str) -> MqttClient {
    MqttClient::connect(ws_options(addr, "/mqtt", id)).await.0
}

fn qos(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_and_tcp_clients_exchange_messages_at_every_qos_both_ways() {
    let (b, ws) = broker().await;
    let mut phone = ws_client(ws, "phone").await;
    let mut node = client(&b, "node", None).await;
    phone.subscribe("to-phone/#", QoS::ExactlyOnce).await;
    node.subscribe("to-node/#", QoS::ExactlyOnce).await;

    for level in 0..=2 {
        node.publish(&format!("to-phone/q{level}"), qos(level), false, "from tcp")
            .await;
        let got = phone
            .expect_on(&format!("to-phone/q{level}"), "from tcp")
            .await;
        assert_eq!(got.qos, qos(level), "QoS kept from tcp to ws");

        phone
            .publish(&format!("to-node/q{level}"), qos(level), false, "from ws")
            .await;
        let got = node
            .expect_on(&format!("to-node/q{level}"), "from ws")
            .await;
        assert_eq!(got.qos, qos(level), "QoS kept from ws to tcp");
    }
    phone.expect_nothing_before_marker().await;
    node.expect_nothing_before_marker().await;
}

// MQTT-6.0.0-2: a packet may span WebSocket frames, and a frame may hold several packets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_split_across_frames_and_packed_into_one_frame_are_read() {
    let (b, ws) = broker().await;
    let mut tcp = RawClient::connect(b.addr(), "tcp-sub").await;
    assert_eq!(tcp.subscribe("frames/#", 1).await, 1);

    // CONNECT in three frames: the first byte alone, the middle, the rest.
    let mut c = RawClient::ws(ws, "/mqtt").await;
    let connect = Connect::new("framed").encode();
    c.send(&connect[..1]).await;
    c.send(&connect[1..5]).await;
    c.send(&connect[5..]).await;
    assert_eq!(
        c.recv().await,
        Packet::ConnAck {
            session_present: false,
            code: 0
        }
    );

    // A 100 kB PUBLISH in three frames, cut inside the topic and inside the payload.
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let publish = encode::publish("frames/big", &big, 1, false, false, 1);
    c.send(&publish[..6]).await;
    c.send(&publish[6..50_000]).await;
    c.send(&publish[50_000..]).await;
    assert_eq!(c.recv().await, Packet::PubAck(1));
    let got = tcp
        .next_publish(tests::WAIT)
        .await
        .expect("the big message");
    assert_eq!(
        (got.topic.as_str(), got.payload == big),
        ("frames/big", true)
    );

    // SUBSCRIBE, two PUBLISHes and PINGREQ in one frame: each is answered.
    let mut frame = encode::subscribe(2, &[("frames/#", 1)]);
    frame.extend(encode::publish("frames/a", b"one", 1, false, false, 3));
    frame.extend(encode::publish("frames/b", b"two", 0, false, false, 0));
    frame.extend(encode::pingreq());
    c.send(&frame).await;
    let mut answers = Vec::new();
    for _ in 0..5 {
        match c.recv().await {
            Packet::Publish(p) => {
                c.ack(&p).await;
                answers.push(format!("PUBLISH {} {}", p.topic, p.payload_str()));
            }
            other => answers.push(format!("{other:?}")),
        }
    }
    answers.sort();
    assert_eq!(
        answers,
        [
            "PUBLISH frames/a one",
            "PUBLISH frames/b two",
            "PingResp",
            "PubAck(3)",
            "SubAck { pkid: 2, codes: [1] }",
        ]
    );
    let got = tcp.collect(2).await;
    assert_eq!(payloads(&got), ["one", "two"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_message_is_delivered_to_a_ws_subscriber() {
    let (b, ws) = broker().await;
    let node = client(&b, "node", None).await;
    node.publish("Kitchen/Fridge/temperature", QoS::AtLeastOnce, true, "4.2")
        .await;
    // The retained message is stored once a subscriber's marker gets through after it.
    let mut check = client(&b, "check", Some("Kitchen/#")).await;
    check.expect_on("Kitchen/Fridge/temperature", "4.2").await;

    let mut phone = ws_client(ws, "phone").await;
    phone
        .subscribe("Kitchen/+/temperature", QoS::AtLeastOnce)
        .await;
    let got = phone.expect_on("Kitchen/Fridge/temperature", "4.2").await;
    assert!(got.retain, "delivered as retained (MQTT-3.3.1-8)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn will_of_a_ws_client_is_published_when_its_socket_drops() {
    let (b, ws) = broker().await;
    let mut obs = client(&b, "obs", Some("phone/status")).await;
    let will = Will::new("phone/status", "gone", 1, false);
    let (phone, _) = RawClient::ws(ws, "/mqtt")
        .await
        .handshake(&Connect::new("phone").will(will))
        .await;
    // No WebSocket Close, no DISCONNECT: the TCP connection is reset, as when Wi-Fi drops.
    phone.reset();
    let got = obs.next_on("phone/status").await;
    assert_eq!(text(&got), "gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_session_over_ws_resumes_with_queued_qos1_messages() {
    let (b, ws) = broker().await;
    let persistent = Connect::new("ws-session").clean_session(false);
    let (mut phone, present) = RawClient::ws(ws, "/mqtt")
        .await
        .handshake(&persistent)
        .await;
    assert!(!present, "no session yet");
    assert_eq!(phone.subscribe("queue/#", 1).await, 1);
    phone.disconnect().await;

    let mut node = RawClient::connect(b.addr(), "node").await;
    for i in 0..5 {
        node.publish("queue/t", i.to_string(), 1, false).await;
    }

    let (mut phone, present) = RawClient::ws(ws, "/mqtt")
        .await
        .handshake(&persistent)
        .await;
    assert!(
        present,
        "session present on resumption over ws (MQTT-3.2.2-2)"
    );
    let got = phone.collect_before_marker().await;
    assert_eq!(payloads(&got), ["0", "1", "2", "3", "4"]);
    assert!(got.iter().all(|p| p.qos == 1), "queued at QoS 1: {got:?}");
}

/// The status of the answer to an upgrade request that must be refused, and its body.
async fn refused_upgrade(addr: SocketAddr, path: &str, subprotocols: &[&str]) -> (u16, String) {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    match ws::upgrade(tcp, addr, path, subprotocols).await {
        Ok((_, response)) => panic!("upgrade accepted: {response:?}"),
        Err(tungstenite::Error::Http(response)) => (
            response.status().as_u16(),
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned(),
        ),
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_on_a_wrong_path_gets_404_naming_the_path() {
    let (_b, ws) = broker().await;
    let (status, body) = refused_upgrade(ws, "/ws", &["mqtt"]).await;
    assert_eq!(status, 404);
    assert!(
        body.contains("/mqtt"),
        "the body names the served path: {body}"
    );
}

// MQTT-6.0.0-3: the client must offer an MQTT subprotocol.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_without_an_mqtt_subprotocol_gets_400() {
    let (_b, ws) = broker().await;
    let (status, body) = refused_upgrade(ws, "/mqtt", &[]).await;
    assert_eq!(status, 400);
    assert!(body.contains("subprotocol mqtt"), "{body}");
    let (status, _) = refused_upgrade(ws, "/mqtt", &["chat", "wamp"]).await;
    assert_eq!(status, 400);
}

// What MQTT.js and Paho offer for MQTT 3.1; the answer echoes the offer (MQTT-6.0.0-4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subprotocol_mqttv31_is_accepted_and_speaks_mqtt_31() {
    let (b, ws) = broker().await;
    let tcp = tokio::net::TcpStream::connect(ws).await.expect("connect");
    let (stream, response) = match ws::upgrade(tcp, ws, "/mqtt", &["mqttv3.1"]).await {
        Ok(upgraded) => upgraded,
        Err(e) => panic!("upgrade with mqttv3.1 refused: {e}"),
    };
    assert_eq!(
        response.headers().get("Sec-WebSocket-Protocol").unwrap(),
        "mqttv3.1"
    );
    let (mut old, _) = RawClient::over(stream)
        .handshake(&Connect::v31("old-dashboard"))
        .await;
    let mut node = RawClient::connect(b.addr(), "node").await;
    assert_eq!(old.subscribe("hall/#", 1).await, 1);
    node.publish("hall/light", "on", 1, false).await;
    let got = old.next_publish(tests::WAIT).await.expect("the message");
    assert_eq!(
        (got.topic.as_str(), got.payload_str()),
        ("hall/light", "on")
    );
}

// After DISCONNECT the broker ends the WebSocket with a Close frame and a clean close, also when
// the client's own Close crosses it (as MQTT.js's end() sends one right after DISCONNECT).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_over_ws_ends_with_a_close_frame_and_a_clean_close() {
    use futures_util::{SinkExt, StreamExt};
    use tungstenite::client::IntoClientRequest;
    use tungstenite::Message;

    let (_b, ws) = broker().await;
    let mut request = format!("ws://{ws}/mqtt").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "mqtt".parse().unwrap());
    let tcp = tokio::net::TcpStream::connect(ws).await.expect("connect");
    let (mut c, _) = tokio_tungstenite::client_async(request, tcp)
        .await
        .expect("upgrade");
    c.send(Message::binary(Connect::new("closing").encode()))
        .await
        .expect("CONNECT");
    match c.next().await {
        Some(Ok(Message::Binary(connack))) => assert_eq!(&connack[..], [0x20, 2, 0, 0]),
        other => panic!("expected CONNACK, got {other:?}"),
    }
    // DISCONNECT, then the client's own Close, which crosses the broker's.
    c.send(Message::binary(encode::disconnect()))
        .await
        .expect("DISCONNECT");
    c.send(Message::Close(None)).await.expect("Close");

    let mut closed_by_broker = false;
    loop {
        // tungstenite reads the broker's Close, then the end of the stream.
        match tokio::time::timeout(tests::WAIT, c.next()).await {
            Ok(Some(Ok(Message::Close(_)))) => closed_by_broker = true,
            Ok(Some(Ok(other))) => panic!("after DISCONNECT: {other:?}"),
            Ok(None) | Ok(Some(Err(tungstenite::Error::ConnectionClosed))) => break,
            Ok(Some(Err(e))) => panic!("the connection was not closed cleanly: {e}"),
            Err(_) => panic!("the broker did not close within {:?}", tests::WAIT),
        }
    }
    assert!(closed_by_broker, "the broker sent a Close frame");
}

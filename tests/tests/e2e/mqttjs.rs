//! MQTT.js from npm, the client of most browser dashboards, against the ws listener: it runs
//! under Node.js (`tests/js/ws_roundtrip.js`, installed with `npm ci --prefix tests/js`) and
//! prints what it received.

use tests::{node, payloads, start_gateway, BrokerOptions, RawClient, WS_LISTENER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqttjs_over_ws_subscribes_publishes_and_receives() {
    let b = start_gateway(BrokerOptions::default(), WS_LISTENER).await;
    let mut tcp = RawClient::connect(b.addr(), "tcp").await;
    tcp.publish("mqttjs/retained", "left by tcp", 1, true).await;
    assert_eq!(tcp.subscribe("mqttjs/echo/#", 2).await, 2);

    let url = format!("ws://{}/mqtt", b.listener_addr("ws"));
    let stdout = node("ws_roundtrip.js", &[url]).await;
    let lines: Vec<&str> = stdout.lines().collect();
    for want in [
        "connected session_present=false",
        "subscribed mqttjs/#:2",
        "received mqttjs/retained qos=1 retain=true left by tcp",
        "received mqttjs/echo/1 qos=1 retain=false hello at QoS 1",
        "received mqttjs/echo/2 qos=2 retain=false hello at QoS 2",
    ] {
        assert!(lines.contains(&want), "{want:?} not printed:\n{stdout}");
    }

    // What MQTT.js published reached the tcp client too.
    let mut got = payloads(&tcp.collect(2).await);
    got.sort();
    assert_eq!(
        got,
        ["hello at QoS 1", "hello at QoS 2"],
        "MQTT.js's messages at the tcp client"
    );
}

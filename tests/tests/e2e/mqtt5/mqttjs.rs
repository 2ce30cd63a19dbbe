//! MQTT.js from npm with `protocolVersion: 5`, over TCP and over WebSocket at once
//! (`tests/js/v5_roundtrip.js`, installed with `npm ci --prefix tests/js`): subscription
//! options, properties both ways, a retained message left by a Rust client.

use broker::codec::v5::{PublishProperties, QoS, SubackReason};
use bytes::Bytes;
use tests::raw5::{self, Raw5Client};
use tests::{node, start_gateway, BrokerOptions, WS_LISTENER};

/// The properties `v5_roundtrip.js` publishes with from client `name`, as the broker's codec
/// decodes them; the Message Expiry Interval, which shrinks on the way, is left out.
fn sent_by(name: &str) -> PublishProperties {
    PublishProperties {
        payload_format_indicator: Some(true),
        content_type: Some("application/json".into()),
        response_topic: Some(format!("mqttjs5/reply/{name}")),
        correlation_data: Some(Bytes::from(format!("corr-{name}"))),
        user_properties: vec![
            ("origin".into(), name.into()),
            ("dup".into(), "1".into()),
            ("dup".into(), "2".into()),
        ],
        ..PublishProperties::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqttjs_v5_over_tcp_and_ws_keeps_properties_and_honours_no_local() {
    let b = start_gateway(BrokerOptions::default(), WS_LISTENER).await;
    let (mut rust, _) = Raw5Client::connect(b.addr(), "rust").await;
    let mut retained = raw5::message("mqttjs5/retained", "left by rust", QoS::AtLeastOnce, true);
    retained.properties.content_type = Some("text/plain".into());
    retained.properties.user_properties = vec![("left".into(), "rust".into())];
    rust.publish_message(retained).await;
    assert_eq!(
        rust.subscribe("mqttjs5/#", QoS::AtLeastOnce).await,
        SubackReason::GrantedQos1
    );

    let tcp = format!("mqtt://{}", b.addr());
    let ws = format!("ws://{}/mqtt", b.listener_addr("ws"));
    let stdout = node("v5_roundtrip.js", &[tcp, ws]).await;
    let lines: Vec<&str> = stdout.lines().collect();
    for name in ["tcp", "ws"] {
        let other = if name == "tcp" { "ws" } else { "tcp" };
        for want in [
            format!(
                "connected {name} session_present=false receiveMaximum=20 topicAliasMaximum=10"
            ),
            format!("subscribed {name} mqttjs5/#:1 $mqttjs5-marker/{name}:1"),
            format!("received {name} mqttjs5/retained qos=1 retain=true left by rust"),
            format!(
                "received {name} mqttjs5/from-{other} qos=1 retain=false properties unchanged \
                 {{\"from\":\"{other}\"}}"
            ),
            format!("marker {name} own_messages=0"),
        ] {
            assert!(
                lines.contains(&want.as_str()),
                "{want:?} not printed:\n{stdout}"
            );
        }
    }
    assert!(lines.contains(&"done"), "MQTT.js did not finish:\n{stdout}");

    // What MQTT.js sent reached a client of another implementation unchanged too.
    // Both were acknowledged to MQTT.js before it ended, so both are here before a marker.
    let got = rust.collect_before_marker().await;
    for name in ["tcp", "ws"] {
        let topic = format!("mqttjs5/from-{name}");
        let Some(p) = got.iter().find(|p| p.topic == topic) else {
            panic!("no {topic} at the Rust client: {got:?}")
        };
        assert_eq!(raw5::text(p), format!("{{\"from\":\"{name}\"}}"));
        let left = p.properties.message_expiry_interval;
        assert!(matches!(left, Some(n) if n <= 3600), "{topic}: {left:?}");
        assert_eq!(
            PublishProperties {
                message_expiry_interval: None,
                ..p.properties.clone()
            },
            sent_by(name),
            "{topic} at the Rust client"
        );
    }
}

// 4.8.2 through MQTT.js: two members of `$share/js/jobs/#` split four messages between them,
// each message to one of them, in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqttjs_v5_members_of_a_shared_subscription_split_its_messages() {
    let b = start_gateway(BrokerOptions::default(), WS_LISTENER).await;
    let stdout = node("v5_shared.js", &[format!("mqtt://{}", b.addr())]).await;
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        ["member a got jobs/1,jobs/3", "member b got jobs/2,jobs/4"],
        "round robin, one member per message:\n{stdout}"
    );
}

//! Malformed or illegal input closes the offending connection only
//! (MQTT-4.8.0-1); other clients keep working.

use tests::{encode, mqtt_options, start_broker, BrokerOptions, MqttClient, QoS, RawClient, WAIT};

/// A connected offender sends `bad` after CONNECT and must be closed, while a
/// subscriber connected throughout keeps receiving and new clients can connect.
async fn only_offender_is_closed(opts: BrokerOptions, bad: Vec<u8>) {
    let b = start_broker(opts).await;
    let (mut bystander, _) = MqttClient::connect(mqtt_options(b.addr(), "bystander")).await;
    bystander.subscribe("m/#", QoS::AtLeastOnce).await;

    let mut offender = RawClient::connect(b.addr(), "offender").await;
    let _ = offender.try_send(&bad).await; // the broker may close mid-write
    offender.expect_closed(WAIT).await;

    let mut newcomer = RawClient::connect(b.addr(), "newcomer").await;
    newcomer.publish("m/after", "still here", 1, false).await;
    let got = bystander.collect(1).await;
    let payloads: Vec<_> = got
        .iter()
        .map(|p| String::from_utf8_lossy(&p.payload))
        .collect();
    assert_eq!(
        payloads,
        ["still here"],
        "bystander must get only the later message"
    );
}

async fn default_case(bad: Vec<u8>) {
    only_offender_is_closed(BrokerOptions::default(), bad).await;
}

#[tokio::test]
async fn garbage_bytes_close_only_that_connection() {
    // An HTTP request sent to the MQTT port: it parses as a PUBACK with
    // reserved flags 0111 (MQTT-2.2.2-2) and a 69-byte body.
    // Fails on Mosquitto: it checks neither and ignores the packet.
    let bad =
        b"GET / HTTP/1.1\r\nHost: hearth.local\r\nUser-Agent: curl/7.88\r\nAccept: */*\r\n\r\n";
    default_case(bad.to_vec()).await;
}

// MQTT 2.2.1: packet types 0 and 15 are reserved.
#[tokio::test]
async fn packet_type_0_closes_only_that_connection() {
    default_case(vec![0x00, 0x00]).await;
}

#[tokio::test]
async fn packet_type_15_closes_only_that_connection() {
    default_case(vec![0xF0, 0x00]).await;
}

// MQTT 2.2.3: the remaining length has at most four bytes.
#[tokio::test]
async fn five_byte_remaining_length_closes_only_that_connection() {
    default_case(vec![0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]).await;
}

// MQTT-3.3.1-4: QoS 3 is malformed.
#[tokio::test]
async fn publish_qos3_closes_only_that_connection() {
    default_case(encode::publish("m/x", b"q3", 3, false, false, 1)).await;
}

// MQTT-3.3.2-2: no wildcards in a topic name.
#[tokio::test]
async fn publish_with_wildcard_topic_closes_only_that_connection() {
    default_case(encode::publish("m/+", b"wild", 0, false, false, 0)).await;
}

// MQTT-1.5.3-1: strings must be well-formed UTF-8.
#[tokio::test]
async fn publish_with_invalid_utf8_topic_closes_only_that_connection() {
    let mut body = Vec::new();
    encode::put_str(&mut body, [b'm', b'/', 0xC3, 0x28]);
    body.extend_from_slice(b"bad");
    default_case(encode::packet(0x30, &body)).await;
}

// MQTT-3.8.3-3: SUBSCRIBE carries at least one filter.
#[tokio::test]
async fn subscribe_without_filters_closes_only_that_connection() {
    default_case(encode::packet(0x82, &[0x00, 0x01])).await;
}

// MQTT-3.8.3-4: upper six bits of the requested QoS byte are reserved.
#[tokio::test]
async fn subscribe_with_reserved_qos_bits_closes_only_that_connection() {
    default_case(encode::subscribe(1, &[("m/x", 0x41)])).await;
}

// MQTT-3.6.1-1: PUBREL fixed-header flags are 0010.
#[tokio::test]
async fn pubrel_with_wrong_flags_closes_only_that_connection() {
    default_case(vec![0x60, 0x02, 0x00, 0x01]).await;
}

#[tokio::test]
async fn packet_above_max_packet_size_closes_only_that_connection() {
    let opts = BrokerOptions {
        max_packet_size: 1024,
        ..Default::default()
    };
    only_offender_is_closed(
        opts,
        encode::publish("m/big", &[b'x'; 2048], 0, false, false, 0),
    )
    .await;
}

// CONNACK only flows server to client (MQTT 2.2.1).
#[tokio::test]
async fn connack_from_client_closes_only_that_connection() {
    default_case(vec![0x20, 0x02, 0x00, 0x00]).await;
}

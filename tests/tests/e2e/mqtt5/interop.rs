//! MQTT 3.1.1 and 5.0 clients on the same broker: messages, retained messages and wills pass
//! between them both ways. A 3.1.1 client gets topic and payload without the 5.0 properties
//! (its packets have no place for them; `tests::RawClient` decodes 3.1.1 strictly, so any
//! property bytes would show in the payload), and a 3.1.1 message reaches a 5.0 client with
//! none.

use broker::codec::v5::{Connect, PublishProperties, QoS, WillProperties};
use tests::raw5::{self, Raw5Client};
use tests::{Connect as Connect311, RawClient, Will as Will311, WAIT};

use super::broker;
use super::publish_properties::all_properties;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3_1_1_subscriber_gets_a_v5_message_without_its_properties() {
    let b = broker().await;
    let mut old = RawClient::connect(b.addr(), "old").await;
    assert_eq!(old.subscribe("mix/#", 2).await, 2);
    let (mut new, _) = Raw5Client::connect(b.addr(), "new").await;
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let topic = format!("mix/v5/q{}", qos as u8);
        let mut m = raw5::message(&topic, "from 5.0", qos, false);
        m.properties = all_properties();
        new.publish_message(m).await;
        let p = old
            .next_publish(WAIT)
            .await
            .unwrap_or_else(|| panic!("{topic} at the 3.1.1 subscriber"));
        assert_eq!(
            (p.topic.as_str(), p.payload_str(), p.qos),
            (topic.as_str(), "from 5.0", qos as u8)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3_1_1_message_reaches_a_v5_subscriber_without_properties() {
    let b = broker().await;
    let (mut new, _) = Raw5Client::connect(b.addr(), "new").await;
    new.subscribe("mix/#", QoS::ExactlyOnce).await;
    let mut old = RawClient::connect(b.addr(), "old").await;
    old.publish("mix/v4", "from 3.1.1", 1, false).await;
    let p = new.next_on("mix/v4").await;
    assert_eq!(raw5::text(&p), "from 3.1.1");
    assert_eq!(p.qos, QoS::AtLeastOnce);
    assert_eq!(p.properties, PublishProperties::default(), "no properties");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_messages_cross_between_3_1_1_and_5_0_both_ways() {
    let b = broker().await;
    let (mut new, _) = Raw5Client::connect(b.addr(), "new-publisher").await;
    let mut m = raw5::message("mix/r5", "retained by 5.0", QoS::AtLeastOnce, true);
    m.properties = all_properties();
    new.publish_message(m).await;
    let mut old = RawClient::connect(b.addr(), "old-publisher").await;
    old.publish("mix/r4", "retained by 3.1.1", 1, true).await;

    let mut later_old = RawClient::connect(b.addr(), "old-subscriber").await;
    later_old.subscribe("mix/#", 1).await;
    let mut got: Vec<(String, String, bool)> = later_old
        .collect_before_marker()
        .await
        .into_iter()
        .map(|p| (p.topic.clone(), p.payload_str().to_owned(), p.retain))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("mix/r4".into(), "retained by 3.1.1".into(), true),
            ("mix/r5".into(), "retained by 5.0".into(), true)
        ],
        "at a 3.1.1 subscriber"
    );

    let (mut later_new, _) = Raw5Client::connect(b.addr(), "new-subscriber").await;
    later_new.subscribe("mix/#", QoS::AtLeastOnce).await;
    let mut got = later_new.collect_before_marker().await;
    got.sort_by(|a, b| a.topic.cmp(&b.topic));
    let summary: Vec<(&str, &str, bool)> = got
        .iter()
        .map(|p| (p.topic.as_str(), raw5::text(p), p.retain))
        .collect();
    assert_eq!(
        summary,
        [
            ("mix/r4", "retained by 3.1.1", true),
            ("mix/r5", "retained by 5.0", true)
        ],
        "at a 5.0 subscriber"
    );
    assert_eq!(got[0].properties, PublishProperties::default());
    assert_eq!(
        got[1].properties,
        all_properties(),
        "a retained message keeps its properties (MQTT-3.3.2-4)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wills_cross_between_3_1_1_and_5_0_both_ways() {
    let b = broker().await;
    let (mut new_obs, _) = Raw5Client::connect(b.addr(), "new-observer").await;
    new_obs.subscribe("mix/will/v4", QoS::AtLeastOnce).await;
    let mut old_obs = RawClient::connect(b.addr(), "old-observer").await;
    old_obs.subscribe("mix/will/v5", 1).await;

    let (old_node, _) = RawClient::connect_with(
        b.addr(),
        &Connect311::new("old-node").will(Will311::new("mix/will/v4", "3.1.1 gone", 1, false)),
    )
    .await;
    let mut will = raw5::will("mix/will/v5", "5.0 gone", QoS::AtLeastOnce, false);
    will.properties = WillProperties {
        content_type: Some("text/plain".into()),
        user_properties: vec![("why".into(), "test".into())],
        ..WillProperties::default()
    };
    let (new_node, _) = Raw5Client::connect_with(
        b.addr(),
        &Connect {
            will: Some(will),
            ..raw5::connect("new-node")
        },
    )
    .await;
    old_node.reset();
    new_node.reset();

    let p = new_obs.next_on("mix/will/v4").await;
    assert_eq!(raw5::text(&p), "3.1.1 gone");
    assert_eq!(p.properties, PublishProperties::default());
    let p = old_obs
        .next_publish(WAIT)
        .await
        .expect("the 5.0 client's will at the 3.1.1 observer");
    assert_eq!(
        (p.topic.as_str(), p.payload_str()),
        ("mix/will/v5", "5.0 gone")
    );
}

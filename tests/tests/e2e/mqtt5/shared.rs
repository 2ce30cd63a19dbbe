//! Shared Subscriptions (4.8.2): `$share/{group}/{filter}` splits a topic's messages between
//! the group's members, one member per message, for MQTT 5.0 and 3.1.1 clients alike.

use std::io::BufRead;
use std::process::{Command, Stdio};

use broker::codec::v5::{
    DisconnectReason, Packet, QoS, SubackReason, Subscribe, SubscribeProperties,
    SubscriptionOptions,
};
use rumqttc::v5::mqttbytes::v5::Filter;
use rumqttc::v5::mqttbytes::QoS as RumqttcQoS;
use tests::raw5::{self, Raw5Client};
use tests::WAIT;
use tokio::sync::mpsc;

use super::broker;
use super::rumqttc5::{self, V5Client};

/// Publishes `jobs/1` .. `jobs/{count}` at QoS 1, each acknowledged (so routed) before the next.
async fn publish_jobs(publisher: &mut Raw5Client, count: usize) {
    for n in 1..=count {
        publisher
            .publish(&format!("jobs/{n}"), "work", QoS::AtLeastOnce, false)
            .await;
    }
}

fn topics(got: &[(String, String)]) -> Vec<&str> {
    got.iter().map(|(topic, _)| topic.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_splits_the_messages_between_its_members_in_turn() {
    let b = broker().await;
    let mut members = Vec::new();
    for id in ["worker-a", "worker-b"] {
        let (mut c, _) = Raw5Client::connect(b.addr(), id).await;
        assert_eq!(
            c.subscribe("$share/workers/jobs/#", QoS::AtLeastOnce).await,
            SubackReason::GrantedQos1
        );
        members.push(c);
    }
    let (mut watcher, _) = Raw5Client::connect(b.addr(), "watcher").await;
    watcher.subscribe("jobs/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = Raw5Client::connect(b.addr(), "publisher").await;
    publish_jobs(&mut publisher, 6).await;

    let a = members[0].received_before_marker().await;
    let b_got = members[1].received_before_marker().await;
    assert_eq!(topics(&a), ["jobs/1", "jobs/3", "jobs/5"], "round robin");
    assert_eq!(
        topics(&b_got),
        ["jobs/2", "jobs/4", "jobs/6"],
        "round robin"
    );
    let all = watcher.received_before_marker().await;
    assert_eq!(
        all.len(),
        6,
        "a plain subscription still gets every message"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rumqttc_v5_members_share_and_get_no_retained_message_at_subscribe() {
    let b = broker().await;
    let (mut publisher, _) = Raw5Client::connect(b.addr(), "publisher").await;
    publisher
        .publish("jobs/0", "left over", QoS::AtLeastOnce, true)
        .await;
    let mut members = Vec::new();
    for id in ["rumqttc-a", "rumqttc-b"] {
        let (mut c, _) = V5Client::connect(rumqttc5::options(b.addr(), id)).await;
        let ack = c
            .subscribe(Filter::new("$share/g/jobs/+", RumqttcQoS::AtLeastOnce))
            .await;
        assert_eq!(ack.return_codes.len(), 1);
        members.push(c);
    }
    publish_jobs(&mut publisher, 4).await;
    let mut seen = Vec::new();
    for member in &mut members {
        let got = member.collect_before_marker().await;
        assert_eq!(got.len(), 2, "two each: {got:?}");
        assert!(
            got.iter().all(|p| !p.retain && p.topic != "jobs/0"),
            "no retained message for a shared subscription (4.8.2): {got:?}"
        );
        seen.extend(
            got.into_iter()
                .map(|p| String::from_utf8_lossy(&p.topic).into_owned()),
        );
    }
    seen.sort();
    assert_eq!(seen, ["jobs/1", "jobs/2", "jobs/3", "jobs/4"]);
}

// mosquitto_sub over 3.1.1 in the same group as an MQTT 5.0 client: Mosquitto offers shared
// subscriptions to 3.1.1 clients too, and so does Hearth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_sub_over_3_1_1_and_a_v5_client_share_a_group() {
    let b = broker().await;
    let (mut publisher, _) = Raw5Client::connect(b.addr(), "publisher").await;
    // Its SUBSCRIBE holds both filters: the retained `ready` it prints first says the
    // broker has taken the shared one too.
    publisher
        .publish("ready/old", "yes", QoS::AtLeastOnce, true)
        .await;
    let (mut v5, _) = Raw5Client::connect(b.addr(), "v5-member").await;
    v5.subscribe("$share/g/jobs/#", QoS::AtLeastOnce).await;
    let mut sub = Command::new("mosquitto_sub")
        .args(["-h", &b.addr().ip().to_string()])
        .args(["-p", &b.addr().port().to_string()])
        .args(["-V", "mqttv311", "-i", "old-member", "-q", "1", "-v"])
        .args(["-t", "$share/g/jobs/#", "-t", "ready/old", "-C", "3"])
        .args(["-W", &WAIT.as_secs().to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub from Debian's mosquitto-clients");
    // Its lines as they come; it ends by itself after 3 messages or `-W` seconds.
    let stdout = sub.stdout.take().expect("piped");
    let (tx, mut lines) = mpsc::unbounded_channel();
    let reader = tokio::task::spawn_blocking(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
        sub.wait()
    });
    let first = tokio::time::timeout(WAIT, lines.recv()).await;
    assert_eq!(first.ok().flatten().as_deref(), Some("ready/old yes"));
    publish_jobs(&mut publisher, 4).await;
    let status = tokio::time::timeout(WAIT, reader).await;
    assert!(
        matches!(status, Ok(Ok(Ok(s))) if s.success()),
        "mosquitto_sub: {status:?}"
    );
    let mut old = Vec::new();
    while let Ok(line) = lines.try_recv() {
        old.push(line);
    }
    assert_eq!(old.len(), 2, "mosquitto_sub's share: {old:?}");
    let new = v5.received_before_marker().await;
    assert_eq!(new.len(), 2, "the v5 member's share: {new:?}");
    let mut all: Vec<String> = old
        .iter()
        .map(|line| line.split(' ').next().unwrap_or_default().to_owned())
        .chain(new.into_iter().map(|(topic, _)| topic))
        .collect();
    all.sort();
    assert_eq!(all, ["jobs/1", "jobs/2", "jobs/3", "jobs/4"]);
}

// MQTT-3.8.3-4: No Local on a Shared Subscription is a Protocol Error; the other clients of
// the group carry on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_local_on_a_shared_subscription_ends_only_that_connection() {
    let b = broker().await;
    let (mut member, _) = Raw5Client::connect(b.addr(), "member").await;
    member.subscribe("$share/g/jobs/#", QoS::AtLeastOnce).await;
    let (mut bad, _) = Raw5Client::connect(b.addr(), "bad").await;
    let pkid = bad.next_pkid();
    bad.send_packet(&Packet::Subscribe(Subscribe {
        pkid,
        properties: SubscribeProperties::default(),
        filters: vec![(
            "$share/g/jobs/#".to_owned(),
            SubscriptionOptions {
                no_local: true,
                ..raw5::options(QoS::AtLeastOnce)
            },
        )],
    }))
    .await;
    assert_eq!(
        bad.expect_disconnect().await,
        DisconnectReason::ProtocolError
    );
    let (mut publisher, _) = Raw5Client::connect(b.addr(), "publisher").await;
    publish_jobs(&mut publisher, 2).await;
    assert_eq!(
        topics(&member.received_before_marker().await),
        ["jobs/1", "jobs/2"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_share_names_are_refused_per_filter() {
    let b = broker().await;
    let (mut c, connack) = Raw5Client::connect(b.addr(), "c").await;
    assert_eq!(
        connack.properties.shared_subscription_available, None,
        "absent: available (3.2.2.3.13)"
    );
    for bad in ["$share/g", "$share//jobs", "$share/g+/jobs", "$share/g/"] {
        assert_eq!(
            c.subscribe(bad, QoS::AtMostOnce).await,
            SubackReason::TopicFilterInvalid,
            "{bad}"
        );
    }
    c.expect_nothing_before_marker().await;
}

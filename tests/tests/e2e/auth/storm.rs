//! A reconnect storm with passwords: every node of a home coming back at once (after a power
//! cut, nothing verified yet; after a Wi-Fi outage, the same credentials again) while a
//! connected client keeps publishing. Checked as behaviour: every CONNECT is accepted and every
//! message sent during the storm is acknowledged and delivered, whatever the machine's speed.

use tests::{Connect, Packet, RawClient, Users, WAIT};

use super::{broker, with_users};

const NODES: usize = 100;

/// Messages the connected client sends at the least while the storm lasts.
const AT_LEAST: usize = 10;

fn node_credentials() -> Vec<(String, String)> {
    (0..NODES)
        .map(|i| (format!("esp-{i:03}"), format!("node {i} secret")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_nodes_with_passwords_reconnecting_at_once_are_all_accepted_while_messages_flow()
{
    let nodes = node_credentials();
    let mut all: Vec<(&str, &str)> = nodes
        .iter()
        .map(|(u, p)| (u.as_str(), p.as_str()))
        .collect();
    all.push(("dashboard", "dash"));
    all.push(("hall-sensor", "hall"));
    let users = Users::new("storm", &all);
    let file = std::fs::read_to_string(users.path()).expect("read the password file");
    assert_eq!(
        file.lines().filter(|l| l.contains(":$argon2id$")).count(),
        NODES + 2,
        "one argon2id hash per user"
    );
    let b = broker(with_users(&users), "").await;
    let (mut dashboard, _) = RawClient::connect_with(
        b.addr(),
        &Connect::new("dashboard").credentials("dashboard", "dash"),
    )
    .await;
    assert_eq!(dashboard.subscribe("Hall/#", 1).await, 1);
    let (mut sensor, _) = RawClient::connect_with(
        b.addr(),
        &Connect::new("hall-sensor").credentials("hall-sensor", "hall"),
    )
    .await;

    for storm in ["after a power cut", "after a Wi-Fi outage"] {
        // Every socket open and every CONNECT sent before any answer is read: the broker has
        // all of them to verify at once.
        let mut sockets = Vec::with_capacity(NODES);
        for _ in 0..NODES {
            sockets.push(RawClient::tcp(b.addr()).await);
        }
        for (socket, (user, password)) in sockets.iter_mut().zip(&nodes) {
            socket
                .send(&Connect::new(user).credentials(user, password).encode())
                .await;
        }
        let answers = tokio::spawn(async move {
            let mut codes = Vec::with_capacity(NODES);
            for socket in &mut sockets {
                codes.push(socket.recv().await);
            }
            (sockets, codes)
        });

        // Meanwhile the hall sensor's readings go on: each is acknowledged (`publish` waits
        // for the PUBACK) and reaches the dashboard, in order.
        let mut sent = 0;
        while sent < AT_LEAST || !answers.is_finished() {
            sent += 1;
            let reading = format!("{storm}: reading {sent}");
            sensor.publish("Hall/temperature", &reading, 1, false).await;
            let got = dashboard
                .next_publish(WAIT)
                .await
                .unwrap_or_else(|| panic!("{storm}: reading {sent} was not delivered"));
            assert_eq!(
                (got.topic.as_str(), got.payload_str()),
                ("Hall/temperature", reading.as_str())
            );
        }

        let (sockets, codes) = answers.await.expect("the storm's CONNACKs");
        let refused: Vec<(usize, &Packet)> = codes
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                **p != Packet::ConnAck {
                    session_present: false,
                    code: 0,
                }
            })
            .collect();
        assert!(refused.is_empty(), "{storm}: not accepted: {refused:?}");
        eprintln!("{storm}: {NODES} nodes accepted while {sent} readings went through");

        // Each node is really in: a round trip through the router.
        let mut sockets = sockets;
        for socket in &mut sockets {
            socket.ping().await;
        }
        // The Wi-Fi goes: every node drops at once.
        for socket in sockets {
            socket.reset();
        }
    }
}

//! A real client library (rumqttc) driven from a background task, for tests
//! that want ordinary client behaviour rather than hand-made bytes.

use std::net::SocketAddr;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS, SubscribeReasonCode};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

use crate::WAIT;

/// Options for `client_id` at `addr`: clean session, 30 s keepalive and
/// packet limits above anything the tests send.
pub fn mqtt_options(addr: SocketAddr, client_id: &str) -> MqttOptions {
    let mut opts = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    opts.set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(2 << 20, 2 << 20);
    opts
}

/// A connected client; its event loop stops (without reconnecting) on the
/// first connection error and is aborted on drop.
pub struct MqttClient {
    pub client: AsyncClient,
    incoming: mpsc::UnboundedReceiver<Packet>,
    task: JoinHandle<()>,
}

impl MqttClient {
    /// Connects and waits for CONNACK; returns the session-present flag.
    pub async fn connect(opts: MqttOptions) -> (Self, bool) {
        let (client, mut eventloop) = AsyncClient::new(opts, 1024);
        let (tx, incoming) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(packet)) => {
                        if tx.send(packet).is_err() {
                            break;
                        }
                    }
                    Ok(Event::Outgoing(_)) => {}
                    Err(e) => {
                        // Shown with the output of a failing test.
                        eprintln!("client event loop ended: {e}");
                        break;
                    }
                }
            }
        });
        let mut this = Self {
            client,
            incoming,
            task,
        };
        let ack = this
            .expect(|p| matches!(p, Packet::ConnAck(_)), "CONNACK")
            .await;
        let Packet::ConnAck(ack) = ack else {
            unreachable!()
        };
        assert_eq!(
            ack.code,
            rumqttc::ConnectReturnCode::Success,
            "CONNACK code"
        );
        (this, ack.session_present)
    }

    /// Waits (bounded) for a packet matching `want`, discarding others.
    async fn expect(&mut self, want: impl Fn(&Packet) -> bool, what: &str) -> Packet {
        let deadline = Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                Ok(Some(p)) if want(&p) => return p,
                Ok(Some(_)) => {}
                Ok(None) => panic!("connection ended while waiting for {what}"),
                Err(_) => panic!("no {what} within WAIT"),
            }
        }
    }

    pub async fn subscribe(&mut self, filter: &str, qos: QoS) -> Vec<SubscribeReasonCode> {
        self.client
            .subscribe(filter, qos)
            .await
            .expect("queue SUBSCRIBE");
        let Packet::SubAck(ack) = self
            .expect(|p| matches!(p, Packet::SubAck(_)), "SUBACK")
            .await
        else {
            unreachable!()
        };
        ack.return_codes
    }

    /// Queues a PUBLISH; the event loop sends it and handles the acks.
    pub async fn publish(&self, topic: &str, qos: QoS, retain: bool, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, qos, retain, payload)
            .await
            .expect("queue PUBLISH");
    }

    /// Collects messages until `count` arrived or none came for `quiet`.
    pub async fn collect(&mut self, count: usize, quiet: Duration) -> Vec<Publish> {
        let limit = Instant::now() + Duration::from_secs(30);
        let mut got = Vec::new();
        while got.len() < count && Instant::now() < limit {
            match timeout(quiet, self.incoming.recv()).await {
                Ok(Some(Packet::Publish(p))) => got.push(p),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        got
    }
}

impl Drop for MqttClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

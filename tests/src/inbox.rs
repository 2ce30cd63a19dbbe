//! What a client library's event loop receives, driven from a background task and read with
//! bounded waits: shared by the 3.1.1 ([`crate::MqttClient`]) and 5.0 rumqttc clients, which
//! differ only in their packet and event types.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::future::Future;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};

use crate::WAIT;

/// An event loop that yields the packets the broker sends.
pub trait EventLoop: Send + 'static {
    type Packet: Debug + Send + 'static;

    /// The next event: `Some` packet from the broker, `None` for one the client sent, or why
    /// the connection ended.
    fn next_event(&mut self) -> impl Future<Output = Result<Option<Self::Packet>, String>> + Send;
}

impl EventLoop for rumqttc::EventLoop {
    type Packet = rumqttc::Packet;

    async fn next_event(&mut self) -> Result<Option<rumqttc::Packet>, String> {
        match self.poll().await {
            Ok(rumqttc::Event::Incoming(p)) => Ok(Some(p)),
            Ok(rumqttc::Event::Outgoing(_)) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl EventLoop for rumqttc::v5::EventLoop {
    type Packet = rumqttc::v5::mqttbytes::v5::Packet;

    async fn next_event(&mut self) -> Result<Option<Self::Packet>, String> {
        match self.poll().await {
            Ok(rumqttc::v5::Event::Incoming(p)) => Ok(Some(p)),
            Ok(rumqttc::v5::Event::Outgoing(_)) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The packets of one connection; its event loop stops (without reconnecting) on the first
/// connection error, which the next read reports, and is aborted on drop.
pub struct Inbox<P> {
    incoming: mpsc::UnboundedReceiver<Result<P, String>>,
    /// Packets read while waiting for something else, handed out first.
    backlog: VecDeque<P>,
    task: JoinHandle<()>,
}

impl<P: Debug + Send + 'static> Inbox<P> {
    /// Drives `event_loop` in a background task.
    pub fn drive<L: EventLoop<Packet = P>>(mut event_loop: L) -> Self {
        let (tx, incoming) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                match event_loop.next_event().await {
                    Ok(Some(packet)) => {
                        if tx.send(Ok(packet)).is_err() {
                            break;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        Inbox {
            incoming,
            backlog: VecDeque::new(),
            task,
        }
    }

    /// The next packet, waiting until `deadline`; `None` at the deadline. Panics if the
    /// connection ends.
    pub async fn read(&mut self, deadline: Instant, what: &str) -> Option<P> {
        if let Some(p) = self.backlog.pop_front() {
            return Some(p);
        }
        match timeout_at(deadline, self.incoming.recv()).await {
            Ok(Some(Ok(p))) => Some(p),
            Ok(Some(Err(e))) => panic!("connection ended while waiting for {what}: {e}"),
            Ok(None) => panic!("connection ended while waiting for {what}"),
            Err(_) => None,
        }
    }

    /// Waits (bounded) for a packet matching `want`, keeping the others for later reads.
    pub async fn expect(&mut self, want: impl Fn(&P) -> bool, what: &str) -> P {
        let deadline = Instant::now() + WAIT;
        let mut skipped = Vec::new();
        loop {
            match self.read(deadline, what).await {
                Some(p) if want(&p) => {
                    for p in skipped.into_iter().rev() {
                        self.backlog.push_front(p);
                    }
                    return p;
                }
                Some(p) => skipped.push(p),
                None => panic!("no {what} within {WAIT:?} (got {skipped:?})"),
            }
        }
    }

    /// Waits until the broker closes the connection, skipping what comes before; panics if it
    /// does not within `WAIT` after `after`.
    pub async fn until_closed(&mut self, after: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            match timeout_at(deadline, self.incoming.recv()).await {
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) => return,
                Err(_) => {
                    panic!("the broker did not close the connection within {WAIT:?} after {after}")
                }
            }
        }
    }
}

impl<P> Drop for Inbox<P> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

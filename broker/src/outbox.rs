//! The router's line to one connection's writer task.
//!
//! The channel itself is unbounded so the router never waits on a slow client; `pending`
//! counts the PUBLISHes not yet written, and the router refuses to add QoS 0 messages beyond
//! its limit (QoS 1/2 wait in the session queue instead), which bounds memory per client.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::codec::{Packet, QoS};
use super::message::Message;

pub(crate) enum Outgoing {
    Packet(Packet),
    Publish {
        message: Message,
        qos: QoS,
        retain: bool,
        dup: bool,
        pkid: u16,
    },
    /// Write everything before this, then close the socket.
    Close,
}

#[derive(Clone)]
pub(crate) struct ConnHandle {
    tx: mpsc::UnboundedSender<Outgoing>,
    pending: Arc<AtomicUsize>,
    abort: CancellationToken,
}

pub(crate) struct WriterSide {
    pub rx: mpsc::UnboundedReceiver<Outgoing>,
    pub pending: Arc<AtomicUsize>,
    pub abort: CancellationToken,
}

pub(crate) fn channel() -> (ConnHandle, WriterSide) {
    let (tx, rx) = mpsc::unbounded_channel();
    let pending = Arc::new(AtomicUsize::new(0));
    let abort = CancellationToken::new();
    (
        ConnHandle {
            tx,
            pending: pending.clone(),
            abort: abort.clone(),
        },
        WriterSide { rx, pending, abort },
    )
}

impl ConnHandle {
    pub(crate) fn send_packet(&self, packet: Packet) {
        // A closed channel means the writer is gone; the reader reports the closure.
        let _ = self.tx.send(Outgoing::Packet(packet));
    }

    pub(crate) fn send_publish(
        &self,
        message: Message,
        qos: QoS,
        retain: bool,
        dup: bool,
        pkid: u16,
    ) {
        self.pending.fetch_add(1, Ordering::Relaxed);
        let _ = self.tx.send(Outgoing::Publish {
            message,
            qos,
            retain,
            dup,
            pkid,
        });
    }

    /// PUBLISHes handed to the writer and not yet written to the socket.
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// Flushes what is queued, then closes.
    pub(crate) fn close(&self) {
        let _ = self.tx.send(Outgoing::Close);
    }

    /// Closes now, dropping whatever is queued (a taken-over or dead connection).
    pub(crate) fn abort(&self) {
        self.abort.cancel();
    }
}

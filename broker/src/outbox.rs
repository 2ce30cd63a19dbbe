//! The router's line to one connection's writer task.
//!
//! The queue is unbounded so the router never waits on a slow client; `pending` counts the
//! PUBLISHes not yet written, and the router refuses to add QoS 0 messages beyond its limit
//! (QoS 1/2 wait in the session queue instead), which bounds memory per client.
//!
//! It is a locked `VecDeque` and a `Notify` rather than a tokio channel: a tokio channel
//! allocates a block of 32 slots (about 5 KiB here) for every connection as it opens and keeps
//! it, which for a home's idle nodes was a third of what a connection cost. An idle outbox
//! holds no buffer at all; the writer takes the whole queue at once, so a burst is one lock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::codec::v5::Packet;
use super::codec::QoS;
use super::message::Message;

pub(crate) enum Outgoing {
    /// Boxed: an MQTT 5 packet with its properties is large, and most items are PUBLISHes.
    Packet(Box<Packet>),
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

/// What both ends share.
struct Queue {
    items: Mutex<VecDeque<Outgoing>>,
    /// Signalled when the queue stops being empty and when the last sender goes.
    ready: Notify,
    senders: AtomicUsize,
    /// The writer has ended: what is sent now is dropped at once.
    writer_gone: AtomicBool,
}

impl Queue {
    fn items(&self) -> MutexGuard<'_, VecDeque<Outgoing>> {
        // Pushing and popping cannot leave the deque half changed: a poisoned lock's data is
        // as good as any.
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) struct ConnHandle {
    queue: Arc<Queue>,
    pending: Arc<AtomicUsize>,
    abort: CancellationToken,
}

pub(crate) struct WriterSide {
    pub rx: Receiver,
    pub pending: Arc<AtomicUsize>,
    pub abort: CancellationToken,
}

/// The writer's end of the queue.
pub(crate) struct Receiver {
    queue: Arc<Queue>,
    /// Items taken from the queue in one go and not yet handed out.
    taken: VecDeque<Outgoing>,
}

/// Nothing is queued now.
#[derive(Debug)]
pub(crate) struct Empty;

pub(crate) fn channel() -> (ConnHandle, WriterSide) {
    let queue = Arc::new(Queue {
        items: Mutex::new(VecDeque::new()),
        ready: Notify::new(),
        senders: AtomicUsize::new(1),
        writer_gone: AtomicBool::new(false),
    });
    let pending = Arc::new(AtomicUsize::new(0));
    let abort = CancellationToken::new();
    (
        ConnHandle {
            queue: queue.clone(),
            pending: pending.clone(),
            abort: abort.clone(),
        },
        WriterSide {
            rx: Receiver {
                queue,
                taken: VecDeque::new(),
            },
            pending,
            abort,
        },
    )
}

impl Clone for ConnHandle {
    fn clone(&self) -> Self {
        self.queue.senders.fetch_add(1, Ordering::Relaxed);
        ConnHandle {
            queue: self.queue.clone(),
            pending: self.pending.clone(),
            abort: self.abort.clone(),
        }
    }
}

impl Drop for ConnHandle {
    fn drop(&mut self) {
        if self.queue.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The writer ends once it has written what is queued.
            self.queue.ready.notify_one();
        }
    }
}

impl ConnHandle {
    fn push(&self, item: Outgoing) {
        if self.queue.writer_gone.load(Ordering::Relaxed) {
            // The reader reports the closure; nothing will write this.
            return;
        }
        let was_empty = {
            let mut items = self.queue.items();
            items.push_back(item);
            items.len() == 1
        };
        // The writer waits only after finding the queue empty, so only the first item after
        // that needs to wake it.
        if was_empty {
            self.queue.ready.notify_one();
        }
    }

    pub(crate) fn send_packet(&self, packet: Packet) {
        self.push(Outgoing::Packet(Box::new(packet)));
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
        self.push(Outgoing::Publish {
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
        self.push(Outgoing::Close);
    }

    /// Flushes what is queued, sends `last` (an MQTT 5 DISCONNECT saying why), then closes.
    pub(crate) fn close_with(&self, last: Packet) {
        self.push(Outgoing::Packet(Box::new(last)));
        self.push(Outgoing::Close);
    }

    /// Closes now, dropping whatever is queued (a taken-over or dead connection).
    pub(crate) fn abort(&self) {
        self.abort.cancel();
    }
}

impl Receiver {
    /// The next item; `None` once every sender is gone and the queue is empty.
    pub(crate) async fn recv(&mut self) -> Option<Outgoing> {
        loop {
            if let Ok(item) = self.try_recv() {
                return Some(item);
            }
            if self.queue.senders.load(Ordering::Acquire) == 0 {
                // Every push happened before the last sender went.
                return self.try_recv().ok();
            }
            self.queue.ready.notified().await;
        }
    }

    /// The next item if one is queued.
    pub(crate) fn try_recv(&mut self) -> Result<Outgoing, Empty> {
        if let Some(item) = self.taken.pop_front() {
            return Ok(item);
        }
        {
            let mut items = self.queue.items();
            if items.is_empty() {
                return Err(Empty);
            }
            // The whole queue at once; the router gets back the (empty) deque used last time.
            std::mem::swap(&mut *items, &mut self.taken);
        }
        self.taken.pop_front().ok_or(Empty)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.taken.is_empty() && self.queue.items().is_empty()
    }

    /// Gives back the memory a burst took, for a connection with nothing more to write.
    pub(crate) fn release_idle(&mut self) {
        if self.taken.is_empty() {
            self.taken = VecDeque::new();
            let mut items = self.queue.items();
            if items.is_empty() {
                *items = VecDeque::new();
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.queue.writer_gone.store(true, Ordering::Relaxed);
        self.queue.items().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::v5::{PubAck, PubAckReason};

    fn puback(pkid: u16) -> Packet {
        Packet::Puback(PubAck {
            pkid,
            reason: PubAckReason::Success,
            properties: Default::default(),
        })
    }

    #[tokio::test]
    async fn items_arrive_in_order_and_the_writer_ends_once_the_last_sender_is_gone() {
        let (handle, mut writer) = channel();
        let second = handle.clone();
        handle.send_packet(Packet::Pingresp);
        second.send_packet(puback(7));
        drop(handle);
        assert!(matches!(
            writer.rx.recv().await,
            Some(Outgoing::Packet(p)) if *p == Packet::Pingresp
        ));
        drop(second);
        // What was sent before the last sender went is still written.
        assert!(matches!(
            writer.rx.recv().await,
            Some(Outgoing::Packet(p)) if matches!(*p, Packet::Puback(PubAck { pkid: 7, .. }))
        ));
        assert!(writer.rx.recv().await.is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_writer_is_woken_by_a_send_and_by_the_last_sender_going() {
        let (handle, mut writer) = channel();
        let (started, waiting) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let _ = started.send(());
            let first = writer.rx.recv().await;
            let then = writer.rx.recv().await;
            (first, then)
        });
        waiting.await.unwrap();
        handle.close();
        drop(handle);
        let (first, then) = task.await.unwrap();
        assert!(matches!(first, Some(Outgoing::Close)));
        assert!(then.is_none());
    }

    #[test]
    fn what_is_sent_after_the_writer_ended_is_dropped() {
        let (handle, writer) = channel();
        let queue = handle.queue.clone();
        drop(writer);
        handle.send_packet(Packet::Pingresp);
        assert!(queue.items().is_empty());
    }

    #[test]
    fn an_idle_outbox_gives_back_what_a_burst_took() {
        let (handle, mut writer) = channel();
        for pkid in 1..=100 {
            handle.send_packet(puback(pkid));
        }
        let mut seen = 0;
        while writer.rx.try_recv().is_ok() {
            seen += 1;
        }
        assert_eq!(seen, 100);
        assert!(writer.rx.taken.capacity() >= 100);
        writer.rx.release_idle();
        assert_eq!(writer.rx.taken.capacity(), 0);
        assert_eq!(handle.queue.items().capacity(), 0);
    }
}

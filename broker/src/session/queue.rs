//! A session's bounded queue: messages waiting for room in the in-flight window, or for their
//! client to come back.

use std::collections::VecDeque;

use crate::codec::QoS;
use crate::message::Message;

/// A message waiting for room in the in-flight window, or for its client to come back.
pub(super) struct Queued {
    /// The session's number for it, which names it in the store.
    pub seq: u64,
    pub message: Message,
    pub qos: QoS,
    pub retain: bool,
    /// Sent because of a new subscription (MQTT-3.3.1-8): kept even when the queue is full.
    pub from_retained: bool,
}

/// What `push` had to give up to stay within its bound.
pub(super) enum Enqueued {
    Kept,
    /// Kept, and the oldest ordinary entry dropped to make room.
    DroppedOldest(Queued),
    Refused,
}

#[derive(Default)]
pub(super) struct Queue {
    entries: VecDeque<Queued>,
    /// Entries that count against the limit (not from a new subscription).
    live: usize,
}

impl Queue {
    /// Queues a message, keeping at most `limit` ordinary entries by dropping the oldest one:
    /// for a home, the newest reading or command is the one worth keeping. Entries from a new
    /// subscription's retained messages do not count, so that every retained message reaches
    /// the subscriber however many there are, but at most `retained_cap` of them are held.
    pub(super) fn push(&mut self, entry: Queued, limit: usize, retained_cap: usize) -> Enqueued {
        if entry.from_retained {
            let held = self.entries.len() - self.live;
            if held < retained_cap {
                self.entries.push_back(entry);
                return Enqueued::Kept;
            }
            return self.push(
                Queued {
                    from_retained: false,
                    ..entry
                },
                limit,
                retained_cap,
            );
        }
        if limit == 0 {
            return Enqueued::Refused;
        }
        let mut outcome = Enqueued::Kept;
        if self.live >= limit {
            if let Some(dropped) = self.drop_oldest() {
                outcome = Enqueued::DroppedOldest(dropped);
            }
        }
        self.entries.push_back(entry);
        self.live += 1;
        outcome
    }

    /// Removes the oldest ordinary entry (not one from a new subscription's retained messages).
    pub(super) fn drop_oldest(&mut self) -> Option<Queued> {
        let pos = self.entries.iter().position(|q| !q.from_retained)?;
        let dropped = self.entries.remove(pos)?;
        self.live -= 1;
        Some(dropped)
    }

    /// Puts back an entry read from the store, after those already restored.
    pub(super) fn restore(&mut self, entry: Queued) {
        if !entry.from_retained {
            self.live += 1;
        }
        self.entries.push_back(entry);
    }

    pub(super) fn pop(&mut self) -> Option<Queued> {
        let entry = self.entries.pop_front()?;
        if !entry.from_retained {
            self.live -= 1;
        }
        Some(entry)
    }

    /// Keeps the entries `keep` accepts, in order; returns the `seq` of those dropped.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&Queued) -> bool) -> Vec<u64> {
        let mut live = 0;
        let mut dropped = Vec::new();
        self.entries.retain(|q| {
            let kept = keep(q);
            if kept && !q.from_retained {
                live += 1;
            }
            if !kept {
                dropped.push(q.seq);
            }
            kept
        });
        self.live = live;
        dropped
    }

    pub(super) fn entries(&self) -> impl Iterator<Item = &Queued> {
        self.entries.iter()
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(payload: &str, from_retained: bool) -> Queued {
        Queued {
            seq: 0,
            message: Message::new("t", payload.as_bytes().to_vec(), QoS::AtLeastOnce, false),
            qos: QoS::AtLeastOnce,
            retain: false,
            from_retained,
        }
    }

    fn payloads(q: &mut Queue) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(entry) = q.pop() {
            out.push(String::from_utf8_lossy(&entry.message.payload).into_owned());
        }
        out
    }

    #[test]
    fn a_full_queue_drops_its_oldest_ordinary_entry() {
        let mut q = Queue::default();
        for p in ["1", "2", "3"] {
            q.push(queued(p, false), 2, 10);
        }
        assert_eq!(payloads(&mut q), ["2", "3"]);
    }

    #[test]
    fn retained_entries_survive_a_full_queue() {
        let mut q = Queue::default();
        q.push(queued("r1", true), 1, 10);
        q.push(queued("r2", true), 1, 10);
        q.push(queued("a", false), 1, 10);
        q.push(queued("b", false), 1, 10);
        assert_eq!(payloads(&mut q), ["r1", "r2", "b"]);
    }

    #[test]
    fn retained_entries_beyond_their_cap_count_as_ordinary() {
        let mut q = Queue::default();
        for p in ["r1", "r2", "r3"] {
            q.push(queued(p, true), 1, 2);
        }
        assert_eq!(q.len(), 3);
        q.push(queued("x", false), 1, 2);
        assert_eq!(payloads(&mut q), ["r1", "r2", "x"]);
    }

    #[test]
    fn a_zero_limit_refuses_ordinary_entries() {
        let mut q = Queue::default();
        assert!(matches!(
            q.push(queued("a", false), 0, 10),
            Enqueued::Refused
        ));
        assert!(q.is_empty());
    }
}

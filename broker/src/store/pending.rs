//! Changes not yet committed, folded together so a commit writes each row at most once: the
//! net effect of everything since the last commit, not its history.
//!
//! Folding is also what spares the card: a message held and acknowledged within one interval
//! is never written, a retained topic updated a hundred times is written once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::{HeldMessage, Op};
use crate::codec::v5::Packet;
use crate::message::Message;
use crate::outbox::ConnHandle;
use crate::subscriptions::Grant;

#[derive(Default)]
pub(super) struct Pending {
    pub retained: HashMap<Arc<str>, Option<Message>>,
    pub sessions: HashMap<Arc<str>, SessionChanges>,
    /// Acknowledgements waiting for the commit that makes their PUBLISH durable, in order.
    pub acks: Vec<(ConnHandle, Packet)>,
    /// Changes folded in since the last commit, for the log: some may have cancelled out.
    pub folded: usize,
}

#[derive(Default)]
pub(super) struct SessionChanges {
    /// Delete every row of the client before writing what follows: the session ended, and
    /// what follows (if anything) belongs to a new one.
    pub reset: bool,
    /// The session's own row.
    pub row: Option<SessionRow>,
    /// What each filter was granted; `None`: unsubscribed.
    pub subscriptions: HashMap<Arc<str>, Option<Grant>>,
    pub messages: BTreeMap<u64, MessageChange>,
    pub incoming_qos2: HashMap<u16, bool>,
}

/// A session's own row: whose it is, since when its client is away, how long it lasts then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SessionRow {
    pub username: Option<Arc<str>>,
    pub offline_since: Option<u64>,
    /// `u32::MAX`: as long as `session_expiry` allows.
    pub expiry_interval: u32,
}

impl Default for SessionRow {
    fn default() -> Self {
        SessionRow {
            username: None,
            offline_since: None,
            expiry_interval: u32::MAX,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum MessageChange {
    /// Not in the file yet: written whole.
    Insert(HeldMessage),
    /// In the file: its packet id set and, once released, its payload dropped.
    Update {
        pkid: Option<u16>,
        released: bool,
    },
    Delete,
}

impl SessionChanges {
    fn is_empty(&self) -> bool {
        !self.reset
            && self.row.is_none()
            && self.subscriptions.is_empty()
            && self.messages.is_empty()
            && self.incoming_qos2.is_empty()
    }
}

impl Pending {
    pub(super) fn is_empty(&self) -> bool {
        !self.has_changes() && self.acks.is_empty()
    }

    /// Whether a commit would write anything: a message held and done since the last commit
    /// has cancelled out and leaves nothing.
    pub(super) fn has_changes(&self) -> bool {
        !self.retained.is_empty() || self.sessions.values().any(|s| !s.is_empty())
    }

    /// Folds one change in. `Close`, `Flush` and acknowledgements are the writer's to handle.
    pub(super) fn apply(&mut self, op: Op) {
        self.folded += 1;
        match op {
            Op::Retained { topic, message } => {
                self.retained.insert(topic, message);
            }
            Op::Session {
                client_id,
                username,
                offline_since,
                expiry_interval,
            } => {
                self.session(client_id).row = Some(SessionRow {
                    username,
                    offline_since,
                    expiry_interval,
                })
            }
            Op::SessionRemoved { client_id } => {
                *self.session(client_id) = SessionChanges {
                    reset: true,
                    ..SessionChanges::default()
                };
            }
            Op::Subscribed {
                client_id,
                filter,
                grant,
            } => {
                self.session(client_id)
                    .subscriptions
                    .insert(filter, Some(grant));
            }
            Op::Unsubscribed { client_id, filter } => {
                self.session(client_id).subscriptions.insert(filter, None);
            }
            Op::Held {
                client_id,
                seq,
                message,
            } => {
                self.session(client_id)
                    .messages
                    .insert(seq, MessageChange::Insert(message));
            }
            Op::Sent {
                client_id,
                seq,
                pkid,
            } => {
                let messages = &mut self.session(client_id).messages;
                match messages.get_mut(&seq) {
                    Some(MessageChange::Insert(m)) => m.pkid = Some(pkid),
                    Some(MessageChange::Update { pkid: p, .. }) => *p = Some(pkid),
                    Some(MessageChange::Delete) => {}
                    None => {
                        messages.insert(
                            seq,
                            MessageChange::Update {
                                pkid: Some(pkid),
                                released: false,
                            },
                        );
                    }
                }
            }
            Op::Released { client_id, seq } => {
                let messages = &mut self.session(client_id).messages;
                match messages.get_mut(&seq) {
                    Some(MessageChange::Insert(m)) => {
                        m.released = true;
                        m.payload = bytes::Bytes::new();
                    }
                    Some(MessageChange::Update { released, .. }) => *released = true,
                    Some(MessageChange::Delete) => {}
                    None => {
                        messages.insert(
                            seq,
                            MessageChange::Update {
                                pkid: None,
                                released: true,
                            },
                        );
                    }
                }
            }
            Op::Done { client_id, seq } => {
                let messages = &mut self.session(client_id).messages;
                // Held since the last commit: it never reaches the file.
                if let Some(MessageChange::Insert(_)) = messages.remove(&seq) {
                    return;
                }
                messages.insert(seq, MessageChange::Delete);
            }
            Op::IncomingQos2 {
                client_id,
                pkid,
                pending,
            } => {
                self.session(client_id).incoming_qos2.insert(pkid, pending);
            }
            Op::AckWhenDurable { handle, packet } => {
                self.folded -= 1;
                self.acks.push((handle, *packet));
            }
            Op::Close(_) | Op::Flush(_) => self.folded -= 1,
            #[cfg(test)]
            Op::Sql(_) => self.folded -= 1,
        }
    }

    fn session(&mut self, client_id: Arc<str>) -> &mut SessionChanges {
        self.sessions.entry(client_id).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::QoS;

    fn held(topic: &str) -> HeldMessage {
        let message = Message::new(topic, "x", QoS::AtLeastOnce, false);
        HeldMessage::of(&message, QoS::AtLeastOnce, false, false, None)
    }

    #[test]
    fn a_message_held_and_done_before_a_commit_is_never_written() {
        let mut p = Pending::default();
        p.apply(Op::Held {
            client_id: "c".into(),
            seq: 1,
            message: held("t"),
        });
        p.apply(Op::Sent {
            client_id: "c".into(),
            seq: 1,
            pkid: 9,
        });
        p.apply(Op::Done {
            client_id: "c".into(),
            seq: 1,
        });
        assert!(p.sessions["c"].messages.is_empty());
        assert!(!p.has_changes(), "nothing is left to write");
    }

    #[test]
    fn a_message_already_written_is_updated_then_deleted() {
        let mut p = Pending::default();
        p.apply(Op::Sent {
            client_id: "c".into(),
            seq: 4,
            pkid: 2,
        });
        p.apply(Op::Released {
            client_id: "c".into(),
            seq: 4,
        });
        assert_eq!(
            p.sessions["c"].messages[&4],
            MessageChange::Update {
                pkid: Some(2),
                released: true
            }
        );
        p.apply(Op::Done {
            client_id: "c".into(),
            seq: 4,
        });
        assert_eq!(p.sessions["c"].messages[&4], MessageChange::Delete);
    }

    #[test]
    fn a_held_message_keeps_its_packet_id_and_drops_its_payload_when_released() {
        let mut p = Pending::default();
        p.apply(Op::Held {
            client_id: "c".into(),
            seq: 1,
            message: held("t"),
        });
        p.apply(Op::Sent {
            client_id: "c".into(),
            seq: 1,
            pkid: 5,
        });
        p.apply(Op::Released {
            client_id: "c".into(),
            seq: 1,
        });
        let MessageChange::Insert(m) = &p.sessions["c"].messages[&1] else {
            panic!("still an insert");
        };
        assert_eq!((m.pkid, m.released, m.payload.len()), (Some(5), true, 0));
    }

    #[test]
    fn removing_a_session_forgets_its_earlier_changes() {
        let mut p = Pending::default();
        p.apply(Op::Subscribed {
            client_id: "c".into(),
            filter: "a/#".into(),
            grant: Grant::qos(QoS::AtLeastOnce),
        });
        p.apply(Op::SessionRemoved {
            client_id: "c".into(),
        });
        let s = &p.sessions["c"];
        assert!(s.reset && s.subscriptions.is_empty() && s.row.is_none());
    }

    #[test]
    fn the_last_retained_message_of_a_topic_wins() {
        let mut p = Pending::default();
        for payload in ["1", "2", "3"] {
            p.apply(Op::Retained {
                topic: "t".into(),
                message: Some(Message::new("t", payload, QoS::AtMostOnce, true)),
            });
        }
        assert_eq!(p.retained.len(), 1);
        assert_eq!(&p.retained["t"].as_ref().unwrap().payload[..], b"3");
    }
}

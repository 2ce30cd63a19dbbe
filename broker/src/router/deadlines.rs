//! What the router must do at a time rather than on a packet: publish a will whose delay has
//! passed (3.1.3.2.2) and end a session whose client stayed away longer than its expiry
//! interval (3.1.2.11.2), each at its own second rather than on a periodic sweep.
//!
//! Every deadline is pushed when it is set (a connection ends, a will is delayed, a session
//! is restored); entries made stale by a reconnect are left in the heap and found to have
//! nothing due when they come up, which is cheaper than finding and removing them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::Router;
use crate::session::{Session, SessionKey};
use crate::will::Will;

#[derive(Default)]
pub(super) struct Deadlines {
    due: BinaryHeap<Reverse<(Instant, SessionKey)>>,
    /// Woken when a deadline earlier than every other is pushed, so the router's task sleeps
    /// until the new one.
    earlier: Arc<Notify>,
}

impl Deadlines {
    fn push(&mut self, at: Instant, key: SessionKey) {
        let earliest = self.due.peek().is_none_or(|Reverse((next, _))| at < *next);
        self.due.push(Reverse((at, key)));
        if earliest {
            self.earlier.notify_one();
        }
    }

    fn pop_due(&mut self, now: Instant) -> Option<SessionKey> {
        match self.due.peek() {
            Some(Reverse((at, _))) if *at <= now => self.due.pop().map(|Reverse((_, key))| key),
            _ => None,
        }
    }
}

impl Router {
    /// The earliest time something may be due; `None`: nothing is waiting.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.due.peek().map(|Reverse((at, _))| *at)
    }

    /// Notified when [`Self::next_deadline`] moves earlier.
    pub(crate) fn deadline_moved(&self) -> Arc<Notify> {
        self.deadlines.earlier.clone()
    }

    /// When the session, its client away, has outlived its expiry interval (bounded by the
    /// broker's `session_expiry`); `None` while connected or if it never expires.
    pub(super) fn expiry_deadline(&self, session: &Session) -> Option<Instant> {
        let away_since = session.offline_at()?;
        let granted = self.granted_expiry(session.expiry_interval());
        if granted == u32::MAX {
            return None;
        }
        away_since.checked_add(Duration::from_secs(u64::from(granted)))
    }

    /// Whether the session's client has been away longer than its expiry interval at `now`.
    pub(super) fn has_expired(&self, session: &Session, now: Instant) -> bool {
        self.expiry_deadline(session).is_some_and(|at| at <= now)
    }

    /// Times the end of the session's expiry interval, its client having gone away.
    pub(super) fn schedule_expiry(&mut self, key: SessionKey) {
        if let Some(at) = self
            .sessions
            .get(&key)
            .and_then(|s| self.expiry_deadline(s))
        {
            self.deadlines.push(at, key);
        }
    }

    /// The connection ended without DISCONNECT: its will is published now, or after its Will
    /// Delay Interval if the session outlives the connection (MQTT-3.1.3-9); a session that
    /// ends with its connection sends it at once (3.1.2.5).
    pub(super) fn will_due(&mut self, key: SessionKey, will: Will, client_id: &str) {
        let session = self.sessions.get_mut(&key);
        match session {
            Some(session) if !will.delay.is_zero() => {
                let due = Instant::now() + will.delay;
                session.delay_will(will, due);
                self.deadlines.push(due, key);
            }
            _ => self.publish_will(will, client_id),
        }
    }

    /// Publishes the wills whose delay has passed by `now` and ends the sessions whose
    /// expiry has.
    pub(crate) fn run_due(&mut self, now: Instant) {
        while let Some(key) = self.deadlines.pop_due(now) {
            let Some(session) = self.sessions.get(&key) else {
                continue;
            };
            if session.is_connected() {
                continue;
            }
            if self.has_expired(session, now) {
                // Its delayed will, if any, goes with it (3.1.2.5).
                self.expire(key);
                continue;
            }
            let Some(session) = self.sessions.get_mut(&key) else {
                continue;
            };
            let client_id = session.client_id().clone();
            if let Some(will) = session.take_will_due(now) {
                self.publish_will(will, &client_id);
            }
        }
    }
}

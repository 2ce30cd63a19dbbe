//! Which sessions subscribed to which filters, matched against a topic by walking a trie: the
//! cost of a publish grows with the topic's depth and the wildcards that apply, not with the
//! number of subscriptions.

use std::collections::HashMap;
use std::num::NonZeroU32;

use super::codec::QoS;
use super::level_tree::{LevelTree, NodeId};
use super::session::SessionKey;

mod shared;

use shared::SharedSubscriptions;
pub(crate) use shared::{parse as parse_shared, Readiness};

/// What one subscription was granted: its QoS and the MQTT 5 options that decide how a
/// message reaches it (3.8.3.1). A 3.1.1 subscription has the options off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Grant {
    pub qos: QoS,
    /// Messages its own client publishes are not sent back (MQTT-3.8.3-3).
    pub no_local: bool,
    /// Live messages keep the RETAIN flag they were published with (3.8.3.1).
    pub retain_as_published: bool,
    /// The Subscription Identifier its SUBSCRIBE carried (3.8.2.1.2), sent back with every
    /// message it matches (MQTT-3.3.4-3).
    pub id: Option<NonZeroU32>,
}

impl Grant {
    /// A subscription with MQTT 3.1.1's behaviour.
    pub(crate) fn qos(qos: QoS) -> Grant {
        Grant {
            qos,
            no_local: false,
            retain_as_published: false,
            id: None,
        }
    }

    /// One delivery for a session whose several subscriptions match: the highest QoS
    /// (MQTT-3.3.4-2 allows one delivery), not sent back if every one of them says no local,
    /// the RETAIN flag kept if any keeps it. Their identifiers are gathered apart, by
    /// [`SubscriptionTree::matches`]: one grant holds one.
    fn merge(self, other: Grant) -> Grant {
        Grant {
            qos: self.qos.max(other.qos),
            no_local: self.no_local && other.no_local,
            retain_as_published: self.retain_as_published || other.retain_as_published,
            id: self.id.or(other.id),
        }
    }
}

#[derive(Default)]
pub(crate) struct SubscriptionTree {
    tree: LevelTree<HashMap<SessionKey, Grant>>,
    count: usize,
    /// The walk's work list, kept for the next publish.
    stack: Vec<(NodeId, Option<usize>)>,
    /// `$share/{group}/{filter}` subscriptions, kept apart: a message goes to one member of
    /// each group, chosen by [`SubscriptionTree::choose_shared`].
    shared: SharedSubscriptions,
}

impl SubscriptionTree {
    /// Adds or replaces `session`'s subscription to `filter` (a validated filter; a
    /// `$share/{group}/{filter}` one makes it a member of that group).
    pub(crate) fn insert(&mut self, filter: &str, session: SessionKey, grant: Grant) {
        if let Some(Ok(shared)) = parse_shared(filter) {
            self.shared.insert(shared, session, grant);
            return;
        }
        let id = self.tree.find_or_insert(filter);
        let subscribers = self.tree.value_mut(id).get_or_insert_with(HashMap::new);
        if subscribers.insert(session, grant).is_none() {
            self.count += 1;
        }
    }

    pub(crate) fn remove(&mut self, filter: &str, session: SessionKey) -> bool {
        if let Some(Ok(shared)) = parse_shared(filter) {
            return self.shared.remove(shared, session);
        }
        let Some(id) = self.tree.find(filter) else {
            return false;
        };
        let slot = self.tree.value_mut(id);
        let removed = slot.as_mut().is_some_and(|s| s.remove(&session).is_some());
        if slot.as_ref().is_some_and(HashMap::is_empty) {
            *slot = None;
            self.tree.prune(id);
        }
        if removed {
            self.count -= 1;
        }
        removed
    }

    pub(crate) fn len(&self) -> usize {
        self.count + self.shared.len()
    }

    /// Appends to `out` the member chosen from each shared group whose filter matches `topic`
    /// (one delivery per group, MQTT 5.0 section 4.8.2), by each member's `readiness` (`None`:
    /// it may not read the topic). Apart from [`SubscriptionTree::matches`]: a session chosen
    /// here gets its own copy even if its other subscriptions match too.
    pub(crate) fn choose_shared(
        &mut self,
        topic: &str,
        readiness: impl FnMut(SessionKey) -> Option<Readiness>,
        out: &mut Vec<(SessionKey, Grant)>,
    ) {
        out.clear();
        self.shared.choose(topic, readiness, out);
    }

    /// Fills `out` with one entry per session whose subscriptions match `topic`, at the highest
    /// QoS among that session's matching filters (MQTT-3.3.5-1), their options merged; and
    /// `ids` with the Subscription Identifiers of every matching subscription that has one,
    /// ordered by session, so that the one copy a session gets carries them all
    /// (MQTT-3.3.4-4, -5).
    pub(crate) fn matches(
        &mut self,
        topic: &str,
        out: &mut Vec<(SessionKey, Grant)>,
        ids: &mut Vec<(SessionKey, NonZeroU32)>,
    ) {
        out.clear();
        ids.clear();
        let mut stack = std::mem::take(&mut self.stack);
        self.tree.visit_filters_matching(topic, &mut stack, |node| {
            if let Some(subscribers) = self.tree.value(node) {
                out.extend(subscribers.iter().map(|(&s, &grant)| (s, grant)));
            }
        });
        self.stack = stack;
        if out.len() > 1 {
            out.sort_unstable_by_key(|&(session, _)| session);
        }
        ids.extend(
            out.iter()
                .filter_map(|&(session, grant)| Some((session, grant.id?))),
        );
        if out.len() > 1 {
            out.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    kept.1 = kept.1.merge(later.1);
                }
                same
            });
        }
    }
}

#[cfg(test)]
mod tests;

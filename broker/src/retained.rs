//! Retained messages, one per topic, found for a new subscription by walking its filter through
//! a trie of topics. Nothing caps how many are delivered: a `#` subscriber gets them all.
//!
//! How many are stored is capped (`max_retained_messages`) for messages from clients: once
//! full, a retained message on a topic not yet retained is not stored (it is still delivered
//! to the subscribers connected now), while updates and clears of retained topics always work,
//! so nothing already retained is lost or stuck. The gateway's own retained topics (its
//! status, readings, Home Assistant documents, `$SYS`) are bounded by its configuration and
//! always stored.

use super::level_tree::{LevelTree, NodeId, ROOT};
use super::message::Message;

/// Why a client's retained message was delivered but not kept.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NotStored {
    /// `max_retained_messages` topics are retained already.
    AtLimit,
    /// The persistent store holds `max_store_size`.
    StoreFull,
}

pub(crate) struct RetainedStore {
    tree: LevelTree<Message>,
    count: usize,
    limit: usize,
    /// Topics and payloads of what is stored, as the persistent store counts them.
    bytes: usize,
}

impl Default for RetainedStore {
    fn default() -> Self {
        Self::with_limit(usize::MAX)
    }
}

impl RetainedStore {
    pub(crate) fn with_limit(limit: usize) -> Self {
        Self {
            tree: LevelTree::default(),
            count: 0,
            limit,
            bytes: 0,
        }
    }

    /// [`RetainedStore::update`] for a client's message. A message that would retain a new
    /// topic is not stored while the store holds its limit or more, nor when
    /// `persistent_store_has_room` (given the bytes it would add) says no; updates and clears
    /// of retained topics always are, so nothing retained is stuck.
    pub(crate) fn update_within_limits(
        &mut self,
        msg: &Message,
        persistent_store_has_room: impl FnOnce(usize) -> bool,
    ) -> Result<(), NotStored> {
        if self.is_new_topic(msg) {
            if !persistent_store_has_room(crate::store::stored_bytes(msg)) {
                return Err(NotStored::StoreFull);
            }
            if self.count >= self.limit {
                return Err(NotStored::AtLimit);
            }
        }
        self.update(msg);
        Ok(())
    }

    /// Stores `msg` for its topic, or clears the topic when its payload is empty
    /// (MQTT-3.3.1-10, 3.3.1-11).
    pub(crate) fn update(&mut self, msg: &Message) {
        if msg.payload.is_empty() {
            let Some(id) = self.tree.find(&msg.topic) else {
                return;
            };
            if let Some(old) = self.tree.value_mut(id).take() {
                self.count -= 1;
                self.bytes -= crate::store::stored_bytes(&old);
            }
            self.tree.prune(id);
            return;
        }
        let id = self.tree.find_or_insert(&msg.topic);
        let mut stored = msg.clone();
        stored.retain = true;
        self.count += 1;
        self.bytes += crate::store::stored_bytes(msg);
        if let Some(old) = self.tree.value_mut(id).replace(stored) {
            self.count -= 1;
            self.bytes -= crate::store::stored_bytes(&old);
        }
    }

    /// What the retained messages cost the persistent store.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether `msg` would retain a topic not retained yet.
    fn is_new_topic(&self, msg: &Message) -> bool {
        !msg.payload.is_empty()
            && self
                .tree
                .find(&msg.topic)
                .and_then(|id| self.tree.value(id))
                .is_none()
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Every retained message whose topic matches the (validated) `filter`.
    pub(crate) fn matching(&self, filter: &str, out: &mut Vec<Message>) {
        let levels: Vec<&str> = filter.split('/').collect();
        let mut stack: Vec<(NodeId, usize)> = vec![(ROOT, 0)];
        while let Some((node, depth)) = stack.pop() {
            let Some(&level) = levels.get(depth) else {
                self.push_value(node, out);
                continue;
            };
            // Topics starting with `$` are not matched by a leading wildcard (MQTT-4.7.2-1).
            let hidden = |name: &str| depth == 0 && name.starts_with('$');
            match level {
                "#" => {
                    // `a/#` matches `a` too; at the root there is no topic to match.
                    if depth > 0 {
                        self.push_value(node, out);
                    }
                    for (name, child) in self.tree.children(node) {
                        if !hidden(name) {
                            self.push_value(child, out);
                            self.tree.descendants(child, |_, d| self.push_value(d, out));
                        }
                    }
                }
                "+" => {
                    for (name, child) in self.tree.children(node) {
                        if !hidden(name) {
                            stack.push((child, depth + 1));
                        }
                    }
                }
                literal => {
                    if let Some(child) = self.tree.child(node, literal) {
                        stack.push((child, depth + 1));
                    }
                }
            }
        }
    }

    fn push_value(&self, node: NodeId, out: &mut Vec<Message>) {
        if let Some(msg) = self.tree.value(node) {
            out.push(msg.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::QoS;

    fn msg(topic: &str, payload: &str) -> Message {
        Message::new(topic, payload.as_bytes().to_vec(), QoS::AtMostOnce, true)
    }

    fn topics(store: &RetainedStore, filter: &str) -> Vec<String> {
        let mut out = Vec::new();
        store.matching(filter, &mut out);
        let mut t: Vec<String> = out.iter().map(|m| m.topic.to_string()).collect();
        t.sort();
        t
    }

    #[test]
    fn set_replace_and_clear() {
        let mut s = RetainedStore::default();
        s.update(&msg("a/b", "1"));
        s.update(&msg("a/b", "2"));
        assert_eq!(s.len(), 1);
        let mut out = Vec::new();
        s.matching("a/b", &mut out);
        assert_eq!(out[0].payload, "2");
        s.update(&msg("a/b", ""));
        assert_eq!(s.len(), 0);
        assert!(topics(&s, "#").is_empty());
    }

    #[test]
    fn filters_find_what_the_reference_matcher_finds() {
        let all = [
            "a",
            "a/b",
            "a/b/c",
            "/x",
            "x",
            "$SYS/broker/uptime",
            "b/b",
            "a//b",
        ];
        let mut s = RetainedStore::default();
        for t in all {
            s.update(&msg(t, "v"));
        }
        for filter in [
            "#", "a/#", "+", "+/b", "a/+", "/+", "$SYS/#", "+/+/+", "a//b", "a/b/c/#",
        ] {
            let mut want: Vec<String> = all
                .iter()
                .filter(|t| mqtt_topic::matches(filter, t))
                .map(|t| t.to_string())
                .collect();
            want.sort();
            assert_eq!(topics(&s, filter), want, "filter {filter:?}");
        }
    }

    #[test]
    fn beyond_the_limit_new_topics_are_refused_and_retained_ones_still_change() {
        let mut s = RetainedStore::with_limit(2);
        let room = |_| true;
        assert_eq!(s.update_within_limits(&msg("a", "1"), room), Ok(()));
        assert_eq!(s.update_within_limits(&msg("b", "1"), room), Ok(()));
        assert_eq!(
            s.update_within_limits(&msg("c", "1"), room),
            Err(NotStored::AtLimit),
            "a third topic"
        );
        assert!(topics(&s, "c").is_empty());
        // Updates of a retained topic always work, as do clears (of anything).
        assert_eq!(s.update_within_limits(&msg("a", "2"), room), Ok(()));
        assert_eq!(s.update_within_limits(&msg("c", ""), room), Ok(()));
        assert_eq!(s.update_within_limits(&msg("b", ""), room), Ok(()));
        assert_eq!(topics(&s, "#"), ["a"]);
        // The freed place takes a new topic again.
        assert_eq!(s.update_within_limits(&msg("c", "1"), room), Ok(()));
        assert_eq!(s.len(), 2);
        // The gateway's own messages are stored beyond the limit.
        s.update(&msg("hearth/gw/status", "online"));
        assert_eq!(s.len(), 3);
        assert_eq!(
            s.update_within_limits(&msg("d", "1"), room),
            Err(NotStored::AtLimit)
        );
    }

    #[test]
    fn a_full_persistent_store_refuses_new_topics_only() {
        let mut s = RetainedStore::with_limit(10);
        assert_eq!(s.update_within_limits(&msg("a", "1"), |_| true), Ok(()));
        let full = |_| false;
        assert_eq!(
            s.update_within_limits(&msg("b", "1"), full),
            Err(NotStored::StoreFull)
        );
        assert_eq!(s.update_within_limits(&msg("a", "2"), full), Ok(()));
        assert_eq!(s.update_within_limits(&msg("a", ""), full), Ok(()));
        assert!(topics(&s, "#").is_empty());
    }

    #[test]
    fn thousands_of_topics_are_all_found() {
        let mut s = RetainedStore::default();
        for i in 0..5000 {
            s.update(&msg(&format!("home/room{}/sensor{}", i % 50, i), "21.5"));
        }
        assert_eq!(topics(&s, "#").len(), 5000);
        assert_eq!(topics(&s, "home/room7/+").len(), 100);
    }
}

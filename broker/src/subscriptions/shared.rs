//! Shared subscriptions (`$share/{group}/{filter}`, MQTT 5.0 section 4.8.2): a message that
//! matches a group's filter goes to one of the group's members, not to each of them, so that
//! several consumers (Node-RED flows, a backend's workers) can split a stream between them.
//!
//! Which member: round robin over the members that can take it at once, starting after the
//! one chosen last; failing that, round robin over the connected members that are busy
//! (their in-flight window full); failing that, an offline member whose persistent session
//! queues it. A member whose access rules do not let it read the topic is never chosen.

use super::Grant;
use crate::level_tree::{LevelTree, NodeId};
use crate::session::SessionKey;

/// What every shared subscription's filter starts with (4.8.2).
pub(crate) const SHARED_PREFIX: &str = "$share/";

/// A `$share/{group}/{filter}` filter taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SharedFilter<'a> {
    pub group: &'a str,
    /// The filter the group's members are subscribed to.
    pub filter: &'a str,
}

/// `None` for a filter that is not a shared subscription; otherwise the group and filter, or
/// why the filter is not a valid shared subscription (MQTT-4.8.2-1, -2).
pub(crate) fn parse(filter: &str) -> Option<Result<SharedFilter<'_>, &'static str>> {
    let rest = filter.strip_prefix(SHARED_PREFIX)?;
    let Some((group, filter)) = rest.split_once('/') else {
        return Some(Err(
            "a shared subscription is $share/{group}/{filter}: the filter is missing",
        ));
    };
    if group.is_empty() {
        return Some(Err("a shared subscription's group name is empty"));
    }
    if group.contains(['+', '#']) {
        return Some(Err(
            "a shared subscription's group name cannot contain + or #",
        ));
    }
    if filter.is_empty() {
        return Some(Err("a shared subscription's filter is empty"));
    }
    Some(Ok(SharedFilter { group, filter }))
}

/// How ready a member is to take a message now; the best available is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Readiness {
    /// Its client is away; its persistent session would queue the message.
    Offline,
    /// Connected, with its in-flight window full: the message would wait in its queue.
    Busy,
    /// Connected, and the message would be sent at once.
    Ready,
}

struct Group {
    name: Box<str>,
    /// In the order they joined.
    members: Vec<(SessionKey, Grant)>,
    /// Where the next choice starts looking.
    next: usize,
}

impl Group {
    /// The member to send the next message to, given each member's readiness (`None`: it
    /// may not read the topic); the choice moves on past it.
    fn choose(
        &mut self,
        mut readiness: impl FnMut(SessionKey) -> Option<Readiness>,
    ) -> Option<(SessionKey, Grant)> {
        let count = self.members.len();
        let mut best: Option<(Readiness, usize)> = None;
        for step in 0..count {
            let index = (self.next + step) % count;
            let Some(ready) = readiness(self.members[index].0) else {
                continue;
            };
            if best.is_none_or(|(seen, _)| ready > seen) {
                best = Some((ready, index));
            }
            if ready == Readiness::Ready {
                break;
            }
        }
        let (_, index) = best?;
        self.next = (index + 1) % count;
        Some(self.members[index])
    }
}

#[derive(Default)]
pub(crate) struct SharedSubscriptions {
    /// Each filter's node holds the groups subscribed to it: `$share/a/t` and `$share/b/t` are
    /// two groups, each getting every message on `t` once.
    tree: LevelTree<Vec<Group>>,
    count: usize,
    /// The matching walk's work list and the nodes it found, kept for the next publish.
    stack: Vec<(NodeId, Option<usize>)>,
    hits: Vec<NodeId>,
}

impl SharedSubscriptions {
    /// Adds `session` to the group, or replaces its grant there.
    pub(crate) fn insert(&mut self, shared: SharedFilter, session: SessionKey, grant: Grant) {
        let node = self.tree.find_or_insert(shared.filter);
        let groups = self.tree.value_mut(node).get_or_insert_with(Vec::new);
        let group = match groups.iter().position(|g| *g.name == *shared.group) {
            Some(at) => &mut groups[at],
            None => {
                groups.push(Group {
                    name: shared.group.into(),
                    members: Vec::new(),
                    next: 0,
                });
                let last = groups.len() - 1;
                &mut groups[last]
            }
        };
        if let Some(member) = group.members.iter_mut().find(|(s, _)| *s == session) {
            member.1 = grant;
            return;
        }
        group.members.push((session, grant));
        self.count += 1;
    }

    /// Takes `session` out of the group; whether it was a member.
    pub(crate) fn remove(&mut self, shared: SharedFilter, session: SessionKey) -> bool {
        let Some(node) = self.tree.find(shared.filter) else {
            return false;
        };
        let slot = self.tree.value_mut(node);
        let Some(groups) = slot.as_mut() else {
            return false;
        };
        let Some(at) = groups.iter().position(|g| *g.name == *shared.group) else {
            return false;
        };
        let group = &mut groups[at];
        let Some(index) = group.members.iter().position(|(s, _)| *s == session) else {
            return false;
        };
        group.members.remove(index);
        // The member after the removed one keeps its turn.
        if index < group.next {
            group.next -= 1;
        }
        if group.next >= group.members.len() {
            group.next = 0;
        }
        if group.members.is_empty() {
            groups.remove(at);
        }
        if groups.is_empty() {
            *slot = None;
            self.tree.prune(node);
        }
        self.count -= 1;
        true
    }

    /// Number of memberships, over all groups.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Appends to `out` one member of every group whose filter matches `topic`, chosen by
    /// `readiness` as the module describes.
    pub(crate) fn choose(
        &mut self,
        topic: &str,
        mut readiness: impl FnMut(SessionKey) -> Option<Readiness>,
        out: &mut Vec<(SessionKey, Grant)>,
    ) {
        if self.count == 0 {
            return;
        }
        let (mut stack, mut hits) = (
            std::mem::take(&mut self.stack),
            std::mem::take(&mut self.hits),
        );
        hits.clear();
        self.tree
            .visit_filters_matching(topic, &mut stack, |node| hits.push(node));
        for &node in &hits {
            for group in self.tree.value_mut(node).iter_mut().flatten() {
                out.extend(group.choose(&mut readiness));
            }
        }
        (self.stack, self.hits) = (stack, hits);
    }
}

//! A tree keyed by topic levels (`a/b/c` is root -> a -> b -> c), stored in an arena.
//!
//! The arena keeps every walk iterative: a topic or filter of 30,000 levels costs memory in
//! proportion to its size but can never overflow the stack, neither when matched nor when the
//! tree is dropped.

use std::collections::HashMap;

pub(crate) type NodeId = usize;
pub(crate) const ROOT: NodeId = 0;

struct Node<V> {
    parent: NodeId,
    level: Box<str>,
    children: HashMap<Box<str>, NodeId>,
    /// Whether `children` holds `+` or `#`: matching a topic asks every node on its path for
    /// both, and most nodes have neither, so the answer comes without hashing. Two flags fit
    /// in the node's padding.
    has_plus: bool,
    has_hash: bool,
    value: Option<V>,
}

impl<V> Node<V> {
    fn new(parent: NodeId, level: &str) -> Self {
        Self {
            parent,
            level: level.into(),
            children: HashMap::new(),
            has_plus: false,
            has_hash: false,
            value: None,
        }
    }

    /// Keeps the wildcard flags in step with `children` when `level` is added or removed.
    fn mark(&mut self, level: &str, present: bool) {
        match level {
            "+" => self.has_plus = present,
            "#" => self.has_hash = present,
            _ => {}
        }
    }
}

pub(crate) struct LevelTree<V> {
    nodes: Vec<Node<V>>,
    free: Vec<NodeId>,
}

impl<V> Default for LevelTree<V> {
    fn default() -> Self {
        Self {
            nodes: vec![Node::new(ROOT, "")],
            free: Vec::new(),
        }
    }
}

impl<V> LevelTree<V> {
    pub(crate) fn find(&self, path: &str) -> Option<NodeId> {
        let mut id = ROOT;
        for level in path.split('/') {
            id = *self.nodes[id].children.get(level)?;
        }
        Some(id)
    }

    pub(crate) fn find_or_insert(&mut self, path: &str) -> NodeId {
        let mut id = ROOT;
        for level in path.split('/') {
            id = match self.nodes[id].children.get(level) {
                Some(&child) => child,
                None => {
                    let child = self.alloc(id, level);
                    let node = &mut self.nodes[id];
                    node.children.insert(level.into(), child);
                    node.mark(level, true);
                    child
                }
            };
        }
        id
    }

    fn alloc(&mut self, parent: NodeId, level: &str) -> NodeId {
        match self.free.pop() {
            Some(id) => {
                self.nodes[id] = Node::new(parent, level);
                id
            }
            None => {
                self.nodes.push(Node::new(parent, level));
                self.nodes.len() - 1
            }
        }
    }

    pub(crate) fn child(&self, id: NodeId, level: &str) -> Option<NodeId> {
        let node = &self.nodes[id];
        let absent = match level {
            "+" => !node.has_plus,
            "#" => !node.has_hash,
            _ => node.children.is_empty(),
        };
        if absent {
            return None;
        }
        node.children.get(level).copied()
    }

    /// Children with the level name each was reached by.
    pub(crate) fn children(&self, id: NodeId) -> impl Iterator<Item = (&str, NodeId)> {
        self.nodes[id].children.iter().map(|(k, &v)| (&**k, v))
    }

    pub(crate) fn value(&self, id: NodeId) -> Option<&V> {
        self.nodes[id].value.as_ref()
    }

    pub(crate) fn value_mut(&mut self, id: NodeId) -> &mut Option<V> {
        &mut self.nodes[id].value
    }

    /// Removes `id` and its now-useless ancestors once they hold no value and no children.
    pub(crate) fn prune(&mut self, mut id: NodeId) {
        while id != ROOT && self.nodes[id].value.is_none() && self.nodes[id].children.is_empty() {
            let parent = self.nodes[id].parent;
            let level = std::mem::take(&mut self.nodes[id].level);
            let parent_node = &mut self.nodes[parent];
            parent_node.children.remove(&level);
            parent_node.mark(&level, false);
            self.nodes[id].children = HashMap::new();
            self.free.push(id);
            id = parent;
        }
    }

    /// Calls `visit` with every node whose path, read as a topic filter, matches `topic`
    /// (the tree holding filters). `stack` is the walk's work list, kept by the caller between
    /// calls so that matching allocates nothing.
    pub(crate) fn visit_filters_matching(
        &self,
        topic: &str,
        stack: &mut Vec<(NodeId, Option<usize>)>,
        mut visit: impl FnMut(NodeId),
    ) {
        // Wildcards in the first level never match topics such as `$SYS/...` (MQTT-4.7.2-1).
        let dollar = topic.starts_with('$');
        // Each entry is a node and where the topic's next level starts (`None`: every level is
        // used up). Offsets rather than a list of levels.
        stack.clear();
        stack.push((ROOT, Some(0)));
        while let Some((node, next)) = stack.pop() {
            let wildcards_allowed = !(dollar && node == ROOT);
            if wildcards_allowed {
                // `a/#` also matches `a` itself: `#` stands for zero or more levels.
                if let Some(hash) = self.child(node, "#") {
                    visit(hash);
                }
            }
            let Some(start) = next else {
                visit(node);
                continue;
            };
            let rest = topic.get(start..).unwrap_or_default();
            let (level, after) = match rest.find('/') {
                Some(slash) => (&rest[..slash], Some(start + slash + 1)),
                None => (rest, None),
            };
            if wildcards_allowed {
                if let Some(plus) = self.child(node, "+") {
                    stack.push((plus, after));
                }
            }
            if let Some(exact) = self.child(node, level) {
                stack.push((exact, after));
            }
        }
    }

    /// Every node below `id` (not `id` itself), depth first, without recursion.
    pub(crate) fn descendants(&self, id: NodeId, mut visit: impl FnMut(&str, NodeId)) {
        let mut stack: Vec<NodeId> = self.nodes[id].children.values().copied().collect();
        while let Some(n) = stack.pop() {
            visit(&self.nodes[n].level, n);
            stack.extend(self.nodes[n].children.values().copied());
        }
    }

    /// Number of live nodes, root included (for tests of pruning).
    #[cfg(test)]
    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_children_are_found_while_they_exist_and_not_after_pruning() {
        let mut t: LevelTree<u32> = LevelTree::default();
        let plus = t.find_or_insert("+/x");
        let hash = t.find_or_insert("#");
        *t.value_mut(plus) = Some(1);
        *t.value_mut(hash) = Some(2);
        let plus_level = t.child(ROOT, "+").expect("+ was inserted");
        assert_eq!(t.child(plus_level, "x"), Some(plus));
        assert_eq!(t.child(ROOT, "#"), Some(hash));

        *t.value_mut(plus) = None;
        t.prune(plus);
        assert_eq!(t.child(ROOT, "+"), None, "the pruned + is gone");
        assert_eq!(t.child(ROOT, "#"), Some(hash), "# stays");
        *t.value_mut(hash) = None;
        t.prune(hash);
        assert_eq!(t.child(ROOT, "#"), None);
        assert_eq!(t.node_count(), 1);

        let again = t.find_or_insert("+");
        assert_eq!(t.child(ROOT, "+"), Some(again), "a + added again is found");
    }

    #[test]
    fn pruning_returns_the_tree_to_its_root() {
        let mut t: LevelTree<u32> = LevelTree::default();
        let a = t.find_or_insert("a/b/c");
        let d = t.find_or_insert("a/d");
        *t.value_mut(a) = Some(1);
        *t.value_mut(d) = Some(2);
        assert_eq!(t.node_count(), 5);
        *t.value_mut(a) = None;
        t.prune(a);
        assert_eq!(t.node_count(), 3, "a/b/c and a/b removed, a kept for a/d");
        *t.value_mut(d) = None;
        t.prune(d);
        assert_eq!(t.node_count(), 1);
        assert_eq!(t.find("a"), None);
    }

    #[test]
    fn very_deep_paths_do_not_overflow_the_stack() {
        let deep = "x/".repeat(40_000) + "end";
        let mut t: LevelTree<u32> = LevelTree::default();
        let id = t.find_or_insert(&deep);
        *t.value_mut(id) = Some(7);
        let mut count = 0;
        t.descendants(ROOT, |_, _| count += 1);
        assert_eq!(count, 40_001);
        assert_eq!(t.find(&deep), Some(id));
        drop(t);
    }
}

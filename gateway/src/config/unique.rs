//! Values that must be unique across entries (names, topics, pins), with the first use named.

use std::collections::HashMap;
use std::hash::Hash;

use super::error::ErrorSink;
use super::reader::TableReader;

pub(crate) struct Unique<T> {
    /// Each value seen, with the key path where it was first seen.
    first: HashMap<T, String>,
}

impl<T: Eq + Hash> Unique<T> {
    pub(crate) fn new() -> Self {
        Self {
            first: HashMap::new(),
        }
    }

    /// Records `value` as `t`'s `key`; when it was seen before, reports the message `clash`
    /// makes from the first use's key path.
    pub(crate) fn insert(
        &mut self,
        errs: &mut ErrorSink,
        t: &TableReader,
        key: &str,
        value: T,
        clash: impl FnOnce(&str) -> String,
    ) {
        if let Some(first) = self.first.get(&value) {
            errs.report(&t.key_path(key), t.span_of(key), clash(first));
        } else {
            self.first.insert(value, t.key_path(key));
        }
    }
}

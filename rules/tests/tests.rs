//! The rule engine's behaviour, as tables of messages and ticks against the firings expected.

// Test code: a failed expectation should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod engine;

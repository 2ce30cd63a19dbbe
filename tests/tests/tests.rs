//! End-to-end MQTT 3.1/3.1.1 conformance tests; each test starts its own broker.

// Test code: a broken expectation should panic with its message, failing the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e;

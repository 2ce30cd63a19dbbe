//! Tests of the `hearth` binary as a process: its command line, signals and memory.

// Test code: a failed expectation should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod process;

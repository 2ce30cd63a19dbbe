//! Tests of the `hearth` binary as a process: its command line, signals and memory.

mod process;

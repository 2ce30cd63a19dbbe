//! Hearth's rule engine. Pure: no I/O and no clock of its own, so every behaviour is testable
//! as a table of inputs and expected outputs.

pub mod spec;
pub mod template;
pub mod topic;

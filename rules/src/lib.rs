//! Hearth's rule engine. Pure: no I/O and no clock of its own, so every behaviour is testable
//! as a table of inputs and expected outputs.
//!
//! A message goes [`Engine::on_message`] -> the topic trie (which conditions, with which
//! wildcard captures) -> each condition's state for that capture key -> the rule's enter/leave
//! state machine -> [`Firing`]s with rendered [`Action`]s. Durations (`for`, `min_on`,
//! `min_off`, staleness) become deadlines that [`Engine::on_tick`] handles.

mod condition;
mod engine;
mod firing;
mod properties;
pub mod replay;
mod rule;
pub mod spec;
pub mod template;
/// MQTT topic rules, shared with the broker (one implementation of them).
pub use mqtt_topic as topic;
mod trie;
mod value;

pub use engine::{Engine, ReloadSummary, Stats};
pub use firing::{Action, Firing, Transition};
pub use properties::Properties;
pub use rule::MAX_KEYS_PER_RULE;
pub use value::MAX_PAYLOAD;

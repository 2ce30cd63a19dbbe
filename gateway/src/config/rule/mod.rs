//! `[[rule]]` entries and the `[rules]` table: each rule is checked on its own, against the
//! actuators its actions name, and for a name no other rule has.

mod action;
mod condition;
mod properties;

use rules::spec::RuleSpec;

use super::error::{excerpt, ErrorSink};
use super::gateway::check_topic_level;
use super::reader::TableReader;
use super::unique::Unique;

/// Options for every rule (`[rules]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOptions {
    /// Publish why each rule entered or left on `hearth/<gateway>/rules/<rule>/...`.
    pub explain: bool,
}

impl Default for RuleOptions {
    fn default() -> Self {
        Self { explain: true }
    }
}

pub(crate) fn read_options(table: Option<TableReader>, errs: &mut ErrorSink) -> RuleOptions {
    let mut options = RuleOptions::default();
    let Some(mut t) = table else {
        return options;
    };
    if let Some(explain) = t.boolean(errs, "explain") {
        options.explain = explain;
    }
    t.finish(errs);
    options
}

/// `actuators` are the names of every `[[actuator]]`, for actions that set one by name.
pub(crate) fn read_all(
    tables: Vec<TableReader>,
    actuators: &[String],
    errs: &mut ErrorSink,
) -> Vec<RuleSpec> {
    let mut rules = Vec::new();
    let mut names = Unique::new();
    for mut t in tables {
        let name = read_name(&mut t, errs);
        if let Some(name) = &name {
            names.insert(errs, &t, "name", name.clone(), |first| {
                format!(
                    "\"{}\" is already the name of {first}; rule names must be unique",
                    excerpt(name)
                )
            });
        }
        let (condition, captures) = condition::read(&mut t, errs);
        let hold_for = t.duration(errs, "for");
        let min_on = t.duration(errs, "min_on");
        let min_off = t.duration(errs, "min_off");
        let scope = action::Scope {
            captures: captures.as_ref(),
            actuators,
        };
        let on_enter = action::read_list(&mut t, errs, "on_enter", &scope);
        let on_leave = action::read_list(&mut t, errs, "on_leave", &scope);
        // Absent keys read as empty lists; `on_enter = []` is no action either.
        if on_enter.as_ref().is_some_and(Vec::is_empty)
            && on_leave.as_ref().is_some_and(Vec::is_empty)
        {
            errs.report(
                t.path(),
                t.span(),
                "has no action, so it would do nothing; add on_enter = { ... } and/or \
                 on_leave = { ... } (to watch it first: on_enter = { log = \"{rule} entered on {topic}: {value}\" })",
            );
        }
        t.finish(errs);
        if let (Some(name), Some(condition), Some(on_enter), Some(on_leave)) =
            (name, condition, on_enter, on_leave)
        {
            rules.push(RuleSpec {
                name,
                condition,
                hold_for,
                min_on,
                min_off,
                on_enter,
                on_leave,
            });
        }
    }
    rules
}

/// The name is a topic level of the rule's explain topics, so it must be one; spaces are fine.
fn read_name(t: &mut TableReader, errs: &mut ErrorSink) -> Option<String> {
    let (name, span) = t.required_string(errs, "name", "[[rule]]")?;
    match check_topic_level(name) {
        Ok(()) => Some(name.to_string()),
        Err(why) => {
            errs.report(&t.key_path("name"), span, why);
            None
        }
    }
}

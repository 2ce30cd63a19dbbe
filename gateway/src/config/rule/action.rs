//! A rule's actions (`on_enter`, `on_leave`): publish a message, set an actuator, or log.

use std::ops::Range;

use rules::spec::ActionSpec;
use rules::template::{Template, TemplateError};
use rules::topic::validate_topic_name;
use toml::de::DeValue;

use super::condition::{wildcards, Captures};
use super::properties;
use crate::config::error::{excerpt, ErrorSink};
use crate::config::reader::TableReader;

/// What the templates of a rule's actions may refer to.
pub(super) struct Scope<'a> {
    /// `None` when the rule's condition could not be read: captures are not checked then.
    pub captures: Option<&'a Captures>,
    /// Every `[[actuator]]` name.
    pub actuators: &'a [String],
}

const KINDS: [&str; 3] = ["publish", "actuator", "log"];
const COMMANDS: [&str; 3] = ["ON", "OFF", "TOGGLE"];

/// `key = { ... }` or `key = [{ ... }, ...]`; absent is an empty list.
pub(super) fn read_list(
    t: &mut TableReader,
    errs: &mut ErrorSink,
    key: &'static str,
    scope: &Scope,
) -> Option<Vec<ActionSpec>> {
    let mut actions = Some(Vec::new());
    for mut a in t.tables(errs, key) {
        match (read_one(&mut a, errs, scope), actions.as_mut()) {
            (Some(action), Some(list)) => list.push(action),
            _ => actions = None,
        }
        a.finish(errs);
    }
    actions
}

fn read_one(a: &mut TableReader, errs: &mut ErrorSink, scope: &Scope) -> Option<ActionSpec> {
    let kinds: Vec<&'static str> = KINDS.into_iter().filter(|k| a.has(k)).collect();
    let Some(&kind) = kinds.first() else {
        errs.report(
            a.path(),
            a.span(),
            "needs one of `publish`, `actuator` or `log`, like { publish = \"Kitchen/Purifier/set\", payload = \"ON\" }, { actuator = \"kitchen-purifier\", set = \"ON\" } or { log = \"{rule}: {value}\" }",
        );
        return None;
    };
    if let Some(&other) = kinds.get(1) {
        errs.report(
            &a.key_path(other),
            a.span_of(other),
            format!("`{kind}` and `{other}` are two actions; write each in its own table: [{{ {kind} = ... }}, {{ {other} = ... }}]"),
        );
        for k in &kinds[1..] {
            a.raw(k);
        }
    }
    match kind {
        "publish" => read_publish(a, errs, scope),
        "actuator" => read_actuate(a, errs, scope),
        _ => Some(ActionSpec::Log {
            message: template(a, errs, "log", scope)?,
        }),
    }
}

fn read_publish(a: &mut TableReader, errs: &mut ErrorSink, scope: &Scope) -> Option<ActionSpec> {
    let topic = topic_name(a, errs, "publish", scope);
    let payload = read_payload(a, errs)
        .and_then(|(text, span)| parse(a, errs, "payload", &text, span, scope));
    let qos = a.integer::<u8>(errs, "qos", 0..=2).unwrap_or(1);
    let retain = a.boolean(errs, "retain").unwrap_or(false);
    let properties = properties::read(a, errs, scope);
    Some(ActionSpec::Publish {
        topic: topic?,
        payload: payload?,
        qos,
        retain,
        properties,
    })
}

/// The template at `key` that names a topic to publish to; checked now unless it has
/// placeholders (then the broker refuses an invalid result when the rule fires).
pub(super) fn topic_name(
    a: &mut TableReader,
    errs: &mut ErrorSink,
    key: &'static str,
    scope: &Scope,
) -> Option<Template> {
    template(a, errs, key, scope).filter(|topic| {
        let Some(literal) = topic.as_literal() else {
            return true;
        };
        let checked = validate_topic_name(literal);
        if let Err(e) = checked {
            errs.report(
                &a.key_path(key),
                a.span_of(key),
                format!("\"{}\" cannot be published to: {e}", excerpt(literal)),
            );
        }
        checked.is_ok()
    })
}

/// The payload as text: TOML numbers and booleans are written as they read (`payload = 1`).
fn read_payload(a: &mut TableReader, errs: &mut ErrorSink) -> Option<(String, Range<usize>)> {
    let span = a.span_of("payload");
    let text = match a.raw("payload").map(|v| v.get_ref()) {
        None => {
            errs.report(
                &a.key_path("payload"),
                a.span(),
                "missing; a publish action needs a `payload`, like payload = \"ON\" (payload = \"\" sends an empty message)",
            );
            return None;
        }
        Some(DeValue::Integer(_)) => a
            .integer::<i64>(errs, "payload", i64::MIN..=i64::MAX)?
            .to_string(),
        Some(DeValue::Float(_)) => a.float(errs, "payload")?.to_string(),
        Some(DeValue::Boolean(_)) => a.boolean(errs, "payload")?.to_string(),
        Some(_) => a.string(errs, "payload")?.0.to_string(),
    };
    Some((text, span))
}

fn read_actuate(a: &mut TableReader, errs: &mut ErrorSink, scope: &Scope) -> Option<ActionSpec> {
    let actuator = template(a, errs, "actuator", scope).filter(|name| {
        let Some(literal) = name.as_literal() else {
            return true;
        };
        let known = scope.actuators.iter().any(|n| n == literal);
        if !known {
            errs.report(
                &a.key_path("actuator"),
                a.span_of("actuator"),
                unknown_actuator(literal, scope.actuators),
            );
        }
        known
    });
    let command = read_command(a, errs, scope);
    Some(ActionSpec::Actuate {
        actuator: actuator?,
        command: command?,
    })
}

/// `set = "on"` is stored as `ON`, the command an actuator takes; templates are checked when run.
fn read_command(a: &mut TableReader, errs: &mut ErrorSink, scope: &Scope) -> Option<Template> {
    let (text, span) = a.required_string(errs, "set", "actuator action")?;
    let command = parse(a, errs, "set", text, span.clone(), scope)?;
    let Some(literal) = command.as_literal() else {
        return Some(command);
    };
    let upper = literal.to_ascii_uppercase();
    if !COMMANDS.contains(&upper.as_str()) {
        errs.report(
            &a.key_path("set"),
            span,
            format!(
                "\"{}\" is not a command; use \"ON\", \"OFF\" or \"TOGGLE\"",
                excerpt(literal)
            ),
        );
        return None;
    }
    parse(a, errs, "set", &upper, span, scope)
}

fn unknown_actuator(name: &str, actuators: &[String]) -> String {
    let quoted = excerpt(name);
    if actuators.is_empty() {
        return format!("no actuator named \"{quoted}\"; there are no [[actuator]] entries: add one with name = \"{quoted}\"");
    }
    let names: Vec<_> = actuators.iter().map(|a| excerpt(a)).collect();
    let mut message = format!(
        "no actuator named \"{quoted}\"; actuators are: {}",
        names.join(", ")
    );
    let closest = actuators
        .iter()
        .map(|a| (strsim::levenshtein(name, a), a))
        .min_by_key(|(d, _)| *d);
    if let Some((d, a)) = closest {
        if d <= 3 || a.contains(name) {
            message.push_str(&format!(" (did you mean \"{}\"?)", excerpt(a)));
        }
    }
    message
}

/// The template at `key`, checked against the rule's captures; `None` if absent or wrong.
pub(super) fn template(
    a: &mut TableReader,
    errs: &mut ErrorSink,
    key: &'static str,
    scope: &Scope,
) -> Option<Template> {
    let (text, span) = a.string(errs, key)?;
    parse(a, errs, key, text, span, scope)
}

/// Parses a template and checks its captures against the rule's wildcards.
pub(super) fn parse(
    a: &TableReader,
    errs: &mut ErrorSink,
    key: &str,
    text: &str,
    span: Range<usize>,
    scope: &Scope,
) -> Option<Template> {
    let template = match Template::parse(text) {
        Ok(t) => t,
        Err(e) => {
            // The template's message, quoting a short prefix of the placeholder.
            let e = match e {
                TemplateError::UnknownPlaceholder(name) => {
                    TemplateError::UnknownPlaceholder(excerpt(&name).into_owned())
                }
                other => other,
            };
            errs.report(
                &a.key_path(key),
                span,
                format!("\"{}\": {e}", excerpt(text)),
            );
            return None;
        }
    };
    let used = template.max_capture();
    match scope.captures {
        Some(c) if used > c.count => {
            errs.report(
                &a.key_path(key),
                span,
                format!(
                    "capture {{{used}}} but \"{}\" has {}; captures {{1}}, {{2}}, ... are the filter's `+` and `#` in order",
                    excerpt(&c.filter),
                    wildcards(c.count)
                ),
            );
            None
        }
        _ => Some(template),
    }
}

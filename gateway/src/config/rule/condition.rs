//! A rule's condition: `when` with one test at the rule's top level, or `all`/`any` lists of
//! such conditions joined by their wildcard captures.

use rules::spec::{Condition, ConditionSpec, Test};
use rules::topic::{validate_filter, wildcard_count};

use crate::config::error::{excerpt, ErrorSink};
use crate::config::reader::TableReader;

/// The wildcards a rule's templates may refer to as `{1}`, `{2}`, ...: how many, and the
/// filter they come from (for messages).
#[derive(Debug, Clone)]
pub(super) struct Captures {
    pub count: usize,
    pub filter: String,
}

const FORMS: [&str; 3] = ["when", "all", "any"];
const DEFAULT_OFFLINE: &str = "offline";

/// Reads the rule's condition, and the captures of its valid filters even when another part
/// of the condition is wrong (so templates are still checked).
pub(super) fn read(
    t: &mut TableReader,
    errs: &mut ErrorSink,
) -> (Option<ConditionSpec>, Option<Captures>) {
    let forms: Vec<&'static str> = FORMS.into_iter().filter(|k| t.has(k)).collect();
    let Some(&form) = forms.first() else {
        errs.report(
            t.path(),
            t.span(),
            "has no condition; add when = \"TOPIC/FILTER\" with a test such as above = 1000, \
             or combine several with all = [...] or any = [...]",
        );
        return (None, None);
    };
    if let Some(&other) = forms.get(1) {
        errs.report(
            &t.key_path(other),
            t.span_of(other),
            format!("a rule has one of `when`, `all` or `any`, but this one has `{form}` and `{other}`; put every condition in `all` (or `any`)"),
        );
        for k in &forms[1..] {
            t.raw(k);
        }
    }
    if form == "when" {
        let (condition, filter) = read_one(t, errs);
        return (
            condition.map(ConditionSpec::Single),
            filter.map(captures_of),
        );
    }
    read_combination(t, errs, form)
}

fn read_combination(
    t: &mut TableReader,
    errs: &mut ErrorSink,
    form: &'static str,
) -> (Option<ConditionSpec>, Option<Captures>) {
    let items = t.array_of_tables(errs, form);
    let mut conditions = Some(Vec::new());
    let mut captures: Option<Captures> = None;
    if items.is_empty() {
        errs.report(
            &t.key_path(form),
            t.span_of(form),
            format!("must list at least one condition, like {form} = [{{ when = \"Hall/Door\", equals = \"open\" }}]"),
        );
        conditions = None;
    }
    for mut item in items {
        let (condition, filter) = read_one(&mut item, errs);
        if let Some(filter) = filter {
            check_same_captures(&item, &filter, &mut captures, form, errs);
        }
        match (condition, conditions.as_mut()) {
            (Some(c), Some(list)) => list.push(c),
            _ => conditions = None,
        }
        item.finish(errs);
    }
    let spec = conditions.map(|list| match form {
        "all" => ConditionSpec::All(list),
        _ => ConditionSpec::Any(list),
    });
    (spec, captures)
}

/// Conditions are joined by their captures, so every filter with wildcards needs as many as
/// the first one; filters without wildcards apply to every capture.
fn check_same_captures(
    item: &TableReader,
    filter: &str,
    captures: &mut Option<Captures>,
    form: &str,
    errs: &mut ErrorSink,
) {
    let count = wildcard_count(filter);
    match captures {
        None => *captures = Some(captures_of(filter.to_string())),
        Some(first) if first.count == 0 && count > 0 => *first = captures_of(filter.to_string()),
        Some(first) if count > 0 && count != first.count => errs.report(
            &item.key_path("when"),
            item.span_of("when"),
            format!(
                "\"{}\" has {} but \"{}\" has {}; the conditions in `{form}` are joined by their captures, so each filter with wildcards needs the same number",
                excerpt(filter),
                wildcards(count),
                excerpt(&first.filter),
                wildcards(first.count)
            ),
        ),
        Some(_) => {}
    }
}

fn captures_of(filter: String) -> Captures {
    Captures {
        count: wildcard_count(&filter),
        filter,
    }
}

/// "no wildcards", "1 wildcard", "2 wildcards".
pub(super) fn wildcards(n: usize) -> String {
    match n {
        0 => "no wildcards".to_string(),
        1 => "1 wildcard".to_string(),
        n => format!("{n} wildcards"),
    }
}

/// One condition's keys (`when`, `field` and one test) in `t`; also returns the filter when
/// it is valid.
fn read_one(t: &mut TableReader, errs: &mut ErrorSink) -> (Option<Condition>, Option<String>) {
    let filter = read_filter(t, errs);
    let field = read_field(t, errs);
    let test = read_test(t, errs);
    let condition = match (&filter, test) {
        (Some(when), Some(test)) => Some(Condition {
            when: when.clone(),
            field,
            test,
        }),
        _ => None,
    };
    (condition, filter)
}

fn read_filter(t: &mut TableReader, errs: &mut ErrorSink) -> Option<String> {
    let (filter, span) = t.required_string(errs, "when", "condition")?;
    match validate_filter(filter) {
        Ok(()) => Some(filter.to_string()),
        Err(e) => {
            errs.report(
                &t.key_path("when"),
                span,
                format!("\"{}\" is not a valid topic filter: {e}", excerpt(filter)),
            );
            None
        }
    }
}

fn read_field(t: &mut TableReader, errs: &mut ErrorSink) -> Option<String> {
    let (field, span) = t.string(errs, "field")?;
    if field.is_empty() {
        errs.report(
            &t.key_path("field"),
            span,
            "must not be empty; name the JSON field like \"co2\", \"a.b\" or \"/AM2301/Temperature\", or leave `field` out to use the whole payload",
        );
        return None;
    }
    Some(field.to_string())
}

/// The test keys, grouped by the kind of test they belong to.
const KINDS: [&[&str]; 3] = [&["above", "below"], &["equals"], &["silent_for"]];

fn read_test(t: &mut TableReader, errs: &mut ErrorSink) -> Option<Test> {
    // The first key present of each kind, in file-independent order.
    let present: Vec<&'static str> = KINDS
        .iter()
        .filter_map(|keys| keys.iter().copied().find(|k| t.has(k)))
        .collect();
    let Some(&kind) = present.first() else {
        errs.report(
            t.path(),
            t.span_of("when"),
            "has no test; add above = / below = (numbers), equals = \"text\", or silent_for = \"10m\" (no message for that long)",
        );
        return None;
    };
    if let Some(&other) = present.get(1) {
        errs.report(
            &t.key_path(other),
            t.span_of(other),
            format!("`{kind}` and `{other}` are two kinds of test and a condition has one; to require both, combine two conditions: all = [{{ when = ..., {kind} = ... }}, {{ when = ..., {other} = ... }}]"),
        );
        for k in KINDS.iter().flat_map(|keys| keys.iter()) {
            t.raw(k);
        }
    }
    if kind != "silent_for" && t.has("offline") {
        t.raw("offline");
        errs.report(
            &t.key_path("offline"),
            t.span_of("offline"),
            "only applies with silent_for (a node's Last Will counts as gone at once); add silent_for = \"10m\" or remove `offline`",
        );
    }
    match kind {
        "equals" => read_equals(t, errs),
        "silent_for" => read_silent(t, errs),
        _ => read_threshold(t, errs),
    }
}

fn read_threshold(t: &mut TableReader, errs: &mut ErrorSink) -> Option<Test> {
    let above = t.float(errs, "above");
    let below = t.float(errs, "below");
    if (t.has("above") && above.is_none()) || (t.has("below") && below.is_none()) {
        return None;
    }
    if let (Some(a), Some(b)) = (above, below) {
        if a < b {
            errs.report(
                &t.key_path("above"),
                t.span_of("above"),
                format!(
                    "above ({}) is below below ({}): the rule turns on above `above` and off below `below`; swap them, or for a heater swap on_enter and on_leave",
                    excerpt(&a.to_string()),
                    excerpt(&b.to_string())
                ),
            );
            return None;
        }
    }
    Some(Test::Threshold { above, below })
}

fn read_equals(t: &mut TableReader, errs: &mut ErrorSink) -> Option<Test> {
    let hint = "quote numbers and booleans, like equals = \"1\" or equals = \"true\": payloads are compared as text";
    let (values, span) = t.strings(errs, "equals", hint)?;
    if values.is_empty() {
        errs.report(
            &t.key_path("equals"),
            span,
            "must list at least one value, like equals = [\"open\", \"OPEN\"]",
        );
        return None;
    }
    Some(Test::Equals(values))
}

fn read_silent(t: &mut TableReader, errs: &mut ErrorSink) -> Option<Test> {
    let after = t.duration(errs, "silent_for");
    let hint = "write the Last Will payload as text, like offline = \"offline\"";
    let offline = match t.strings(errs, "offline", hint) {
        Some((values, _)) => Some(values),
        None if t.has("offline") => None,
        None => Some(vec![DEFAULT_OFFLINE.to_string()]),
    };
    let after = after?;
    if after.is_zero() {
        errs.report(
            &t.key_path("silent_for"),
            t.span_of("silent_for"),
            "must be longer than \"0s\"; write how long a quiet node is still fine, like \"10m\"",
        );
        return None;
    }
    Some(Test::Silent {
        after,
        offline_payloads: offline?,
    })
}

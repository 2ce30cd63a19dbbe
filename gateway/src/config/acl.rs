//! `[[broker.acl]]` entries: access rules for network clients, kept in file order (the first
//! matching rule wins; `broker::auth::acl` states what they mean).
//!
//! ```toml
//! [[broker.acl]]
//! user = "kitchen-node"        # or: client = "esp-kitchen", or neither: everyone
//! allow = "write"              # or: deny = "read" | "write" | "readwrite"
//! topic = "Kitchen/Fridge/#"   # %u: the user name, %c: the client id
//! ```

use ::broker::auth::acl::{check_rule_filter, Access, AclRule, RuleFilterError, Who};

use super::error::{excerpt, ErrorSink};
use super::reader::TableReader;

const ACCESS_WORDS: &str = "\"read\", \"write\" or \"readwrite\"";

pub(crate) fn read_all(tables: Vec<TableReader>, errs: &mut ErrorSink) -> Vec<AclRule> {
    let mut rules = Vec::new();
    for mut t in tables {
        // Every key is read before any is given up on, so one run reports every mistake.
        let who = read_who(&mut t, errs);
        let verdict = read_verdict(&mut t, errs);
        let filter = read_filter(&mut t, errs);
        t.finish(errs);
        if let (Some(who), Some((allow, access)), Some(filter)) = (who, verdict, filter) {
            rules.push(AclRule {
                who,
                allow,
                access,
                filter,
            });
        }
    }
    rules
}

/// `user = "..."`, `client = "..."`, or neither (everyone).
fn read_who(t: &mut TableReader, errs: &mut ErrorSink) -> Option<Who> {
    let user = t.string(errs, "user");
    let client = t.string(errs, "client");
    let who = match (user, client) {
        (Some(_), Some((_, span))) => {
            errs.report(
                &t.key_path("client"),
                span,
                "a rule is for one user, one client or everyone, and this one names both `user` and `client`; split it into two rules",
            );
            return None;
        }
        (Some((name, span)), None) => (Who::User(name.to_string()), "user", span),
        (None, Some((id, span))) => (Who::Client(id.to_string()), "client", span),
        (None, None) if t.has("user") || t.has("client") => return None,
        (None, None) => return Some(Who::Everyone),
    };
    let (who, key, span) = who;
    if matches!(&who, Who::User(v) | Who::Client(v) if v.is_empty()) {
        errs.report(
            &t.key_path(key),
            span,
            format!("must not be empty; leave `{key}` out for a rule that applies to everyone"),
        );
        return None;
    }
    Some(who)
}

/// `allow = "<access>"` or `deny = "<access>"`: whether the rule allows, and what.
fn read_verdict(t: &mut TableReader, errs: &mut ErrorSink) -> Option<(bool, Access)> {
    let allow = t.string(errs, "allow");
    let deny = t.string(errs, "deny");
    match (allow, deny) {
        (Some(_), Some((_, span))) => {
            errs.report(
                &t.key_path("deny"),
                span,
                "a rule either allows or denies, and this one has both `allow` and `deny`; split it into two rules",
            );
            None
        }
        (Some((word, span)), None) => parse_access(t, errs, "allow", word, span).map(|a| (true, a)),
        (None, Some((word, span))) => parse_access(t, errs, "deny", word, span).map(|a| (false, a)),
        (None, None) if t.has("allow") || t.has("deny") => None,
        (None, None) => {
            errs.report(
                &t.key_path("allow"),
                t.span(),
                format!("missing; a rule needs `allow` or `deny`, set to {ACCESS_WORDS}"),
            );
            None
        }
    }
}

fn parse_access(
    t: &TableReader,
    errs: &mut ErrorSink,
    key: &str,
    word: &str,
    span: std::ops::Range<usize>,
) -> Option<Access> {
    match word.to_ascii_lowercase().as_str() {
        "read" => return Some(Access::Read),
        "write" => return Some(Access::Write),
        "readwrite" => return Some(Access::ReadWrite),
        _ => {}
    }
    let mut message = format!("\"{}\" is not an access; use {ACCESS_WORDS}", excerpt(word));
    if let Some(hint) = suggestion(key, word) {
        message.push_str(&format!(" ({hint})"));
    }
    errs.report(&t.key_path(key), span, message);
    None
}

/// What the user probably meant by an access word that is not one.
fn suggestion(key: &str, word: &str) -> Option<String> {
    let normal: String = word
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .collect();
    // Mosquitto's `topic deny <filter>` refuses both directions.
    if key == "allow" && normal == "deny" {
        return Some("to refuse both, write deny = \"readwrite\"".to_string());
    }
    let meant = match normal.as_str() {
        "rw" | "both" | "all" | "readwrite" | "writeread" => "readwrite",
        "r" | "sub" | "subscribe" | "receive" => "read",
        "w" | "pub" | "publish" | "send" => "write",
        _ => ["read", "write", "readwrite"]
            .into_iter()
            .map(|w| (strsim::levenshtein(&normal, w), w))
            .filter(|(d, _)| *d <= 2)
            .min_by_key(|(d, _)| *d)
            .map(|(_, w)| w)?,
    };
    Some(format!("did you mean \"{meant}\"?"))
}

/// `topic = "<filter>"`, which may hold `%u` and `%c`.
fn read_filter(t: &mut TableReader, errs: &mut ErrorSink) -> Option<String> {
    let (filter, span) = t.required_string(errs, "topic", "[[broker.acl]] rule")?;
    let quoted = excerpt(filter);
    let problem = match check_rule_filter(filter) {
        Ok(()) => return Some(filter.to_string()),
        Err(RuleFilterError::Placeholder(after)) => {
            let found = after.map_or(String::from("%"), |c| format!("%{c}"));
            format!(
                "\"{quoted}\": \"{found}\" is not a placeholder; use %u for the user name or %c for the client id (a topic with a literal % cannot be named in a rule)"
            )
        }
        Err(RuleFilterError::Invalid(e)) if filter.contains('%') => {
            format!("\"{quoted}\" is not a valid topic filter once %u and %c are filled in: {e}")
        }
        Err(RuleFilterError::Invalid(e)) => {
            format!("\"{quoted}\" is not a valid topic filter: {e}")
        }
    };
    errs.report(&t.key_path("topic"), span, problem);
    None
}

#[cfg(test)]
mod tests;

//! Access control lists: which topics a network client may publish to (write) and receive
//! (read), and which filters it may subscribe to. The gateway's in-process parts are not subject
//! to them ([`ClientAcl::unrestricted`]).
//!
//! # Rules
//!
//! An [`AclRule`] names who it is for (everyone, one user name, or one client id), whether it
//! allows or denies, the access (`read`, `write` or both) and a topic filter, in which `%u`
//! stands for the client's user name and `%c` for its client id (`%` followed by anything else
//! is an error; there is no escape for a literal `%`).
//!
//! A rule **applies** to a client for an operation when its `who` matches (equal user name,
//! equal client id, or everyone), its access includes the operation, and its filter can be
//! filled in for the client:
//! - a rule with `%u` does not apply to a client without a user name;
//! - a user name or client id that contains `+`, `#` or `/`, or is empty, is never substituted:
//!   as a wildcard or a level separator it would widen the filter (client id `+` would make
//!   `%c/set` read every client's `set` topic, client id `Kitchen/Fridge` would make `%c/#`
//!   the fridge node's subtree). An **allow** rule with such a substitution does not apply; a
//!   **deny** rule applies to every topic and filter, because skipping it would grant what it
//!   was written to refuse. [`ClientAcl::unsafe_substitutions`] lists these rules for a log line.
//!
//! Rules are checked in file order and the **first applying rule that matches decides**; rules
//! for everyone, for users and for clients are not ranked against each other.
//! - **PUBLISH** (write) and **delivery** (read, including retained messages) are checked on
//!   the topic name: the first applying rule whose filter matches the topic decides.
//! - **SUBSCRIBE** is checked on the filter, walking the applying read rules in order: a rule
//!   whose filter covers the subscription (matches every topic it can match, see
//!   [`mqtt_topic::covers`]) decides (allow: granted; deny: SUBACK 0x80). Before any covering
//!   rule, an allow rule that merely overlaps the subscription (some topic matches both) grants
//!   it, and every delivery through it is then checked per topic as above. A deny rule that only
//!   overlaps does not decide; the per-topic check enforces it. So a client allowed to read
//!   only `Kitchen/#` that subscribes to `#` is granted and receives only `Kitchen/...`.
//! - When no applying rule matches, the **default** decides: with no rules configured at all,
//!   everything is allowed; once any rule is configured, anything no rule allows is denied (as
//!   Mosquitto does once an `acl_file` is set), so a client no rule is written for can do
//!   nothing.
//!
//! # Protected topics
//!
//! The broker is given filters of topics network clients may not write unless a rule says so,
//! such as `$SYS/#` and `hearth/<gateway>/#`, so the gateway's status and its explanations
//! cannot be spoofed. A write to a topic matched by one of them is denied, whatever the default,
//! unless the first applying write rule that matches it is an allow whose filter names the
//! topic explicitly: its first level is written out in the rule (not `+`, `#`, nor containing
//! `%u` or `%c`). `hearth/#`, `hearth/kitchen-pi/#` and `$SYS/#` open what they match; a blanket
//! `#` or `+/#` does not, nor does `%c/#` for a client whose id is `hearth`. Such a blanket allow
//! still decides (the write is denied): an explicit allow for a protected topic must come before
//! it. Reading protected topics follows the rules above like any other topic.
//!
//! # Cost
//!
//! [`Acl::for_client`] compiles, once per connection, the rules that apply to one client with
//! `%u`/`%c` filled in; a check then walks only those. [`ClientAcl::reads_everything`] lets the
//! router skip per-delivery checks entirely when no rule is configured.

use std::sync::Arc;

use mqtt_topic::{covers, matches, overlaps, validate_filter, FilterError};
use thiserror::Error;

/// Who a rule is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Everyone,
    /// Clients that connected with this user name.
    User(String),
    /// The client with this client id.
    Client(String),
}

/// The operations a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Receiving messages: deliveries, retained messages, and subscribing.
    Read,
    /// Publishing.
    Write,
    ReadWrite,
}

impl Access {
    pub fn includes_read(self) -> bool {
        matches!(self, Access::Read | Access::ReadWrite)
    }

    pub fn includes_write(self) -> bool {
        matches!(self, Access::Write | Access::ReadWrite)
    }
}

/// One rule, as written in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclRule {
    pub who: Who,
    /// Allow, or deny.
    pub allow: bool,
    pub access: Access,
    /// A topic filter, which may hold `%u` (user name) and `%c` (client id).
    pub filter: String,
}

/// What is decided when no applying rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultDecision {
    /// No rules are configured: everything is allowed (except writing protected topics).
    Allow,
    /// Rules are configured: what no rule allows is denied.
    Deny,
}

/// A rule filter or a protected filter that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AclError {
    #[error("ACL rule {index}: {filter:?}: {cause}")]
    Rule {
        /// The rule's position, from 0.
        index: usize,
        filter: String,
        cause: RuleFilterError,
    },
    #[error("protected topic filter {filter:?}: {cause}")]
    Protected { filter: String, cause: FilterError },
}

/// Why a rule's filter is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RuleFilterError {
    /// `%` followed by this character (`None`: at the end) instead of `u` or `c`.
    #[error("{}", placeholder_message(*.0))]
    Placeholder(Option<char>),
    /// Not a valid topic filter once `%u` and `%c` are filled in.
    #[error("not a valid topic filter with %u and %c filled in: {0}")]
    Invalid(FilterError),
}

fn placeholder_message(after: Option<char>) -> String {
    let found = after.map_or(String::from("%"), |c| format!("%{c}"));
    format!("\"{found}\" is not a placeholder; use %u for the user name or %c for the client id")
}

/// Checks a rule's filter as the configuration reader and [`Acl::new`] do: placeholders are
/// `%u` or `%c`, and the filter is valid once they are filled in. Any user name or client id
/// that is substituted at all (see the module doc) gives the same answer as the sample used
/// here, since it is a non-empty level fragment without wildcards.
pub fn check_rule_filter(filter: &str) -> Result<(), RuleFilterError> {
    let mut chars = filter.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('u' | 'c') => {}
                other => return Err(RuleFilterError::Placeholder(other)),
            }
        }
    }
    match fill(filter, Some("u"), "c") {
        Substituted::Filter(f) => validate_filter(&f).map_err(RuleFilterError::Invalid),
        // Unreachable with these samples and the placeholders checked above.
        Substituted::NoUser | Substituted::Unsafe => Ok(()),
    }
}

/// The rules in force, with the protected topic filters and the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    rules: Vec<AclRule>,
    default: DefaultDecision,
    protected: Arc<[String]>,
    /// Topics inside a protected filter that network clients may still write.
    open: Arc<[String]>,
}

impl Acl {
    /// `rules` in file order; `protected`: filters of topics network clients may not write
    /// unless a rule names them (such as `"$SYS/#"` and `"hearth/kitchen-pi/#"`). Every filter
    /// is checked; the first unusable one is returned.
    pub fn new(rules: Vec<AclRule>, protected: Vec<String>) -> Result<Acl, AclError> {
        for (index, rule) in rules.iter().enumerate() {
            check_rule_filter(&rule.filter).map_err(|cause| AclError::Rule {
                index,
                filter: rule.filter.clone(),
                cause,
            })?;
        }
        for filter in &protected {
            validate_filter(filter).map_err(|cause| AclError::Protected {
                filter: filter.clone(),
                cause,
            })?;
        }
        let default = if rules.is_empty() {
            DefaultDecision::Allow
        } else {
            DefaultDecision::Deny
        };
        Ok(Acl {
            rules,
            default,
            protected: protected.into(),
            open: Arc::new([]),
        })
    }

    /// Carves `open` filters out of the protected ones: topics under them that network
    /// clients may write like any other (the gateway's simulation controls). Adding them is
    /// not adding rules: the default stays as it was.
    pub fn with_open(mut self, open: Vec<String>) -> Result<Acl, AclError> {
        for filter in &open {
            validate_filter(filter).map_err(|cause| AclError::Protected {
                filter: filter.clone(),
                cause,
            })?;
        }
        self.open = open.into();
        Ok(self)
    }

    pub fn rules(&self) -> &[AclRule] {
        &self.rules
    }

    pub fn default_decision(&self) -> DefaultDecision {
        self.default
    }

    pub fn protected(&self) -> &[String] {
        &self.protected
    }

    /// The rules that apply to one client, with `%u` and `%c` filled in: compile once per
    /// connection and keep it (in an `Arc`) with the session.
    pub fn for_client(&self, user: Option<&str>, client_id: &str) -> ClientAcl {
        let mut acl = ClientAcl {
            read: Vec::new(),
            write: Vec::new(),
            default_allow: self.default == DefaultDecision::Allow,
            protected: self.protected.clone(),
            open: self.open.clone(),
            unsafe_substitutions: Vec::new(),
        };
        for (index, rule) in self.rules.iter().enumerate() {
            let for_this_client = match &rule.who {
                Who::Everyone => true,
                Who::User(name) => user == Some(name.as_str()),
                Who::Client(id) => client_id == id,
            };
            if !for_this_client {
                continue;
            }
            let pattern = match substitute(&rule.filter, user, client_id) {
                Substituted::Filter(f) => Pattern::Filter(f),
                Substituted::NoUser => continue,
                Substituted::Unsafe => {
                    acl.unsafe_substitutions.push(index);
                    if rule.allow {
                        continue;
                    }
                    Pattern::Everything
                }
            };
            let compiled = Compiled {
                allow: rule.allow,
                explicit: names_its_first_level(&rule.filter),
                pattern,
            };
            if rule.access.includes_read() {
                acl.read.push(compiled.clone());
            }
            if rule.access.includes_write() {
                acl.write.push(compiled);
            }
        }
        acl
    }
}

/// The rules that apply to one client, ready to check its packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAcl {
    /// Applying rules whose access includes read, in file order.
    read: Vec<Compiled>,
    /// Applying rules whose access includes write, in file order.
    write: Vec<Compiled>,
    default_allow: bool,
    protected: Arc<[String]>,
    open: Arc<[String]>,
    unsafe_substitutions: Vec<usize>,
}

impl ClientAcl {
    /// Everything allowed, protected topics included: for the gateway's in-process clients.
    pub fn unrestricted() -> ClientAcl {
        ClientAcl {
            read: Vec::new(),
            write: Vec::new(),
            default_allow: true,
            protected: Arc::new([]),
            open: Arc::new([]),
            unsafe_substitutions: Vec::new(),
        }
    }

    /// Whether every topic is readable, so deliveries need no check.
    pub fn reads_everything(&self) -> bool {
        // With any rule configured the default is deny, and no set of filters reaches every
        // `$`-topic, so this is exact.
        self.default_allow && self.read.is_empty()
    }

    /// Whether a message on `topic` (a valid topic name) may be delivered to this client.
    pub fn can_read(&self, topic: &str) -> bool {
        match self.read.iter().find(|r| r.pattern.matches(topic)) {
            Some(rule) => rule.allow,
            None => self.default_allow,
        }
    }

    /// Whether this client may publish to `topic` (a valid topic name).
    pub fn can_write(&self, topic: &str) -> bool {
        let protected = self.protected.iter().any(|p| matches(p, topic))
            && !self.open.iter().any(|o| matches(o, topic));
        match self.write.iter().find(|r| r.pattern.matches(topic)) {
            Some(rule) => rule.allow && (!protected || rule.explicit),
            None => self.default_allow && !protected,
        }
    }

    /// Whether a subscription to `filter` (a valid filter) is granted; deliveries through it
    /// must still pass [`ClientAcl::can_read`] unless [`ClientAcl::reads_everything`]. A
    /// shared subscription (`$share/{group}/{filter}`) is judged by the filter it receives.
    pub fn subscribe(&self, filter: &str) -> bool {
        let filter = match crate::subscriptions::parse_shared(filter) {
            Some(Ok(shared)) => shared.filter,
            _ => filter,
        };
        for rule in &self.read {
            if rule.pattern.covers(filter) {
                return rule.allow;
            }
            if rule.allow && rule.pattern.overlaps(filter) {
                return true;
            }
        }
        self.default_allow
    }

    /// Positions (from 0, in file order) of the rules for this client whose `%u` or `%c` could
    /// not be filled in safely: its user name or client id is empty or holds `+`, `#` or `/`.
    /// Allow rules among them grant it nothing; deny rules deny it everything they cover.
    pub fn unsafe_substitutions(&self) -> &[usize] {
        &self.unsafe_substitutions
    }
}

/// One applying rule, filled in for its client.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Compiled {
    allow: bool,
    /// Whether the rule's first level is written out, so it may open protected topics.
    explicit: bool,
    pattern: Pattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Filter(String),
    /// A deny rule whose placeholders could not be filled in safely.
    Everything,
}

impl Pattern {
    fn matches(&self, topic: &str) -> bool {
        match self {
            Pattern::Filter(f) => matches(f, topic),
            Pattern::Everything => true,
        }
    }

    fn covers(&self, filter: &str) -> bool {
        match self {
            Pattern::Filter(f) => covers(f, filter),
            Pattern::Everything => true,
        }
    }

    fn overlaps(&self, filter: &str) -> bool {
        match self {
            Pattern::Filter(f) => overlaps(f, filter),
            Pattern::Everything => true,
        }
    }
}

enum Substituted {
    Filter(String),
    /// The filter has `%u` and the client no user name.
    NoUser,
    /// A value that would widen the filter.
    Unsafe,
}

/// `filter` filled in for a client, and still a valid filter.
fn substitute(filter: &str, user: Option<&str>, client_id: &str) -> Substituted {
    match fill(filter, user, client_id) {
        // A value is a fragment of a level; one holding U+0000 still makes the filter invalid.
        Substituted::Filter(f) if validate_filter(&f).is_err() => Substituted::Unsafe,
        other => other,
    }
}

/// `filter` with `%u` and `%c` replaced, refusing values that would widen it.
fn fill(filter: &str, user: Option<&str>, client_id: &str) -> Substituted {
    if !filter.contains('%') {
        return Substituted::Filter(filter.to_string());
    }
    // Checked first: such a rule is not for anonymous clients at all, whatever their id.
    if user.is_none() && filter.contains("%u") {
        return Substituted::NoUser;
    }
    let mut out = String::with_capacity(filter.len() + 16);
    let mut rest = filter;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let value = match rest[at + 1..].chars().next() {
            Some('u') => match user {
                Some(u) => u,
                None => return Substituted::NoUser,
            },
            Some('c') => client_id,
            // Rejected by `check_rule_filter` before any rule gets here.
            _ => return Substituted::Unsafe,
        };
        if value.is_empty() || value.contains(['+', '#', '/']) {
            return Substituted::Unsafe;
        }
        out.push_str(value);
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    Substituted::Filter(out)
}

fn names_its_first_level(filter: &str) -> bool {
    let first = filter.split('/').next().unwrap_or(filter);
    !matches!(first, "+" | "#") && !first.contains('%')
}

#[cfg(test)]
mod tests;

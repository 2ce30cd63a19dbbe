use super::*;
use Access::{Read, ReadWrite, Write};
use Op::{Pub, Recv, Sub};

const ALLOW: bool = true;
const DENY: bool = false;

fn rule(who: Who, allow: bool, access: Access, filter: &str) -> AclRule {
    AclRule {
        who,
        allow,
        access,
        filter: filter.to_string(),
    }
}

fn user(name: &str) -> Who {
    Who::User(name.to_string())
}

fn client(id: &str) -> Who {
    Who::Client(id.to_string())
}

const EVERYONE: Who = Who::Everyone;

fn protected() -> Vec<String> {
    vec!["$SYS/#".to_string(), "hearth/kitchen-pi/#".to_string()]
}

fn new_acl(rules: Vec<AclRule>) -> Acl {
    Acl::new(rules, protected()).unwrap_or_else(|e| panic!("{e}"))
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// PUBLISH to a topic.
    Pub(&'static str),
    /// Delivery of a message on a topic.
    Recv(&'static str),
    /// SUBSCRIBE to a filter.
    Sub(&'static str),
}

/// Each case: (user name, client id, operation, allowed).
type Cases<'a> = &'a [(Option<&'a str>, &'a str, Op, bool)];

fn check(acl: &Acl, cases: Cases) {
    for &(user, client_id, op, want) in cases {
        let c = acl.for_client(user, client_id);
        let got = match op {
            Pub(topic) => c.can_write(topic),
            Recv(topic) => c.can_read(topic),
            Sub(filter) => c.subscribe(filter),
        };
        assert_eq!(got, want, "user {user:?}, client {client_id:?}: {op:?}");
    }
}

#[test]
fn a_node_writes_only_its_sensors_and_reads_only_its_commands() {
    let node = Some("kitchen-node");
    let acl = new_acl(vec![
        rule(user("kitchen-node"), ALLOW, Write, "Kitchen/Fridge/#"),
        rule(user("kitchen-node"), ALLOW, Read, "%c/set"),
    ]);
    check(
        &acl,
        &[
            (node, "esp-kitchen", Pub("Kitchen/Fridge/temperature"), true),
            (node, "esp-kitchen", Pub("Kitchen/Fridge"), true),
            (node, "esp-kitchen", Pub("Kitchen/Oven"), false),
            (node, "esp-kitchen", Pub("esp-kitchen/set"), false),
            (node, "esp-kitchen", Recv("esp-kitchen/set"), true),
            (node, "esp-kitchen", Recv("esp-hall/set"), false),
            (
                node,
                "esp-kitchen",
                Recv("Kitchen/Fridge/temperature"),
                false,
            ),
            (node, "esp-kitchen", Sub("esp-kitchen/set"), true),
            (node, "esp-kitchen", Sub("esp-hall/set"), false),
            (node, "esp-kitchen", Sub("Kitchen/#"), false),
            // Overlaps its own `set`: granted, then filtered per topic.
            (node, "esp-kitchen", Sub("+/set"), true),
            // Rules are configured, so a client none is written for can do nothing.
            (Some("other"), "esp-kitchen", Pub("Kitchen/Fridge/x"), false),
            (None, "esp-kitchen", Recv("esp-kitchen/set"), false),
            (None, "esp-kitchen", Sub("#"), false),
        ],
    );
}

#[test]
fn user_names_are_substituted_for_percent_u() {
    let acl = new_acl(vec![
        rule(EVERYONE, ALLOW, ReadWrite, "users/%u/#"),
        rule(EVERYONE, ALLOW, Read, "shared/%u-%c"),
    ]);
    check(
        &acl,
        &[
            (Some("bob"), "phone", Pub("users/bob/notes"), true),
            (Some("bob"), "phone", Recv("users/bob"), true),
            (Some("bob"), "phone", Pub("users/alice/notes"), false),
            (Some("bob"), "phone", Sub("users/bob/#"), true),
            (Some("bob"), "phone", Sub("users/#"), true),
            (Some("bob"), "phone", Sub("users/alice/#"), false),
            (Some("bob"), "phone", Recv("shared/bob-phone"), true),
            (Some("bob"), "phone", Recv("shared/bob-tablet"), false),
            // A rule with %u is not for a client without a user name.
            (None, "phone", Pub("users/bob/notes"), false),
            (None, "phone", Recv("users//notes"), false),
            (None, "phone", Recv("shared/-phone"), false),
        ],
    );
}

#[test]
fn the_first_matching_rule_wins() {
    let deny_first = new_acl(vec![
        rule(EVERYONE, DENY, Write, "a/secret"),
        rule(EVERYONE, ALLOW, Write, "a/#"),
    ]);
    check(
        &deny_first,
        &[
            (None, "c", Pub("a/secret"), false),
            (None, "c", Pub("a/other"), true),
            (None, "c", Pub("a"), true),
            (None, "c", Pub("b"), false),
        ],
    );
    let allow_first = new_acl(vec![
        rule(EVERYONE, ALLOW, Write, "a/#"),
        rule(EVERYONE, DENY, Write, "a/secret"),
    ]);
    check(
        &allow_first,
        &[
            (None, "c", Pub("a/secret"), true),
            (None, "c", Pub("a/other"), true),
        ],
    );
    // A rule for another access does not match at all, so a later one decides.
    let other_access = new_acl(vec![
        rule(EVERYONE, DENY, Read, "a/#"),
        rule(EVERYONE, ALLOW, ReadWrite, "a/#"),
    ]);
    check(
        &other_access,
        &[
            (None, "c", Pub("a/x"), true),
            (None, "c", Recv("a/x"), false),
        ],
    );
}

#[test]
fn rules_for_a_client_a_user_and_everyone_are_checked_in_file_order() {
    let acl = new_acl(vec![
        rule(client("esp-1"), DENY, Read, "x/#"),
        rule(user("alice"), ALLOW, Read, "x/#"),
        rule(EVERYONE, ALLOW, Read, "y/#"),
        rule(user("alice"), DENY, Read, "y/private"),
    ]);
    check(
        &acl,
        &[
            (Some("alice"), "esp-1", Recv("x/a"), false),
            (Some("alice"), "laptop", Recv("x/a"), true),
            (Some("bob"), "laptop", Recv("x/a"), false),
            (None, "esp-1", Recv("y/a"), true),
            (Some("bob"), "laptop", Recv("y/private"), true),
            // The rule for everyone comes first.
            (Some("alice"), "laptop", Recv("y/private"), true),
            // A client id is not a user name, nor the other way round.
            (Some("esp-1"), "laptop", Recv("x/a"), false),
            (None, "alice", Recv("x/a"), false),
        ],
    );
}

#[test]
fn a_wide_subscription_is_granted_and_filtered_per_topic() {
    let acl = new_acl(vec![rule(EVERYONE, ALLOW, Read, "Kitchen/#")]);
    check(
        &acl,
        &[
            (None, "c", Sub("#"), true),
            (None, "c", Sub("+/Fridge"), true),
            (None, "c", Sub("Kitchen/#"), true),
            (None, "c", Sub("Garage/#"), false),
            (None, "c", Sub("$SYS/#"), false),
            (None, "c", Recv("Kitchen/x"), true),
            (None, "c", Recv("Kitchen"), true),
            (None, "c", Recv("Garage/x"), false),
        ],
    );
    assert!(!acl.for_client(None, "c").reads_everything());
}

#[test]
fn a_subscription_a_deny_covers_is_refused() {
    let acl = new_acl(vec![
        rule(EVERYONE, DENY, Read, "Garage/#"),
        rule(EVERYONE, ALLOW, Read, "#"),
    ]);
    check(
        &acl,
        &[
            (None, "c", Sub("Garage/door"), false),
            (None, "c", Sub("Garage/#"), false),
            (None, "c", Sub("Garage/+/battery"), false),
            // Only overlapping: the allow that covers it decides; deliveries are filtered.
            (None, "c", Sub("#"), true),
            (None, "c", Sub("+/door"), true),
            (None, "c", Recv("Garage/door"), false),
            (None, "c", Recv("Hall/door"), true),
        ],
    );
    // An allow that overlaps, before the deny that covers, grants the subscription.
    let acl = new_acl(vec![
        rule(EVERYONE, ALLOW, Read, "a/b"),
        rule(EVERYONE, DENY, Read, "a/#"),
    ]);
    check(
        &acl,
        &[
            (None, "c", Sub("a/#"), true),
            (None, "c", Sub("a/c"), false),
            (None, "c", Recv("a/b"), true),
            (None, "c", Recv("a/c"), false),
        ],
    );
}

#[test]
fn without_rules_everything_is_allowed_but_writing_protected_topics() {
    let acl = new_acl(Vec::new());
    assert_eq!(acl.default_decision(), DefaultDecision::Allow);
    assert!(acl.for_client(None, "c").reads_everything());
    check(
        &acl,
        &[
            (None, "c", Pub("Kitchen/Fridge"), true),
            (None, "c", Pub("$SYS/broker/uptime"), false),
            (None, "c", Pub("hearth/kitchen-pi/status"), false),
            (None, "c", Pub("hearth/kitchen-pi"), false),
            (None, "c", Pub("hearth/other-pi/status"), true),
            (None, "c", Recv("$SYS/broker/uptime"), true),
            (None, "c", Recv("hearth/kitchen-pi/status"), true),
            (None, "c", Sub("$SYS/#"), true),
            (None, "c", Sub("#"), true),
        ],
    );
}

#[test]
fn protected_topics_open_only_to_a_rule_that_names_them() {
    let cases: &[(&str, bool)] = &[
        ("#", false),
        ("+/#", false),
        ("+/kitchen-pi/status", false),
        ("hearth/#", true),
        ("hearth/kitchen-pi/#", true),
        ("hearth/+/status", true),
    ];
    for &(filter, opens) in cases {
        let acl = new_acl(vec![rule(EVERYONE, ALLOW, Write, filter)]);
        let c = acl.for_client(None, "c");
        assert_eq!(c.can_write("hearth/kitchen-pi/status"), opens, "{filter:?}");
    }
    let sys = new_acl(vec![rule(EVERYONE, ALLOW, Write, "$SYS/#")]);
    assert!(sys.for_client(None, "c").can_write("$SYS/broker/x"));
    let blanket = new_acl(vec![rule(EVERYONE, ALLOW, ReadWrite, "#")]);
    check(
        &blanket,
        &[
            (None, "c", Pub("Kitchen/x"), true),
            (None, "c", Pub("hearth/kitchen-pi/status"), false),
            (None, "c", Recv("hearth/kitchen-pi/status"), true),
            // `#` does not match `$`-topics at all.
            (None, "c", Recv("$SYS/broker/uptime"), false),
        ],
    );
    // A blanket allow still decides; the explicit one must come first.
    let late = new_acl(vec![
        rule(EVERYONE, ALLOW, Write, "#"),
        rule(EVERYONE, ALLOW, Write, "hearth/#"),
    ]);
    check(
        &late,
        &[(None, "c", Pub("hearth/kitchen-pi/status"), false)],
    );
    let early = new_acl(vec![
        rule(EVERYONE, ALLOW, Write, "hearth/#"),
        rule(EVERYONE, ALLOW, Write, "#"),
    ]);
    check(
        &early,
        &[(None, "c", Pub("hearth/kitchen-pi/status"), true)],
    );
    // A substitution does not name a protected topic.
    let by_id = new_acl(vec![rule(EVERYONE, ALLOW, Write, "%c/#")]);
    check(
        &by_id,
        &[
            (None, "hearth", Pub("hearth/kitchen-pi/status"), false),
            (None, "hearth", Pub("hearth/other-pi/status"), true),
        ],
    );
}

#[test]
fn a_client_id_with_wildcards_or_slashes_is_not_substituted() {
    let acl = new_acl(vec![rule(EVERYONE, ALLOW, Read, "%c/set")]);
    check(
        &acl,
        &[
            (None, "esp", Recv("esp/set"), true),
            (None, "+", Recv("esp/set"), false),
            (None, "+", Sub("+/set"), false),
            (None, "#", Recv("esp/set"), false),
            (None, "a/b", Recv("a/b/set"), false),
            (None, "esp+", Recv("esp+/set"), false),
        ],
    );
    assert_eq!(acl.for_client(None, "+").unsafe_substitutions(), [0]);
    assert!(acl
        .for_client(None, "esp")
        .unsafe_substitutions()
        .is_empty());
    // Skipping a deny would grant what it refuses, so it denies everything instead.
    let acl = new_acl(vec![
        rule(EVERYONE, DENY, Write, "%c/secret"),
        rule(EVERYONE, ALLOW, ReadWrite, "#"),
    ]);
    check(
        &acl,
        &[
            (None, "esp", Pub("esp/secret"), false),
            (None, "esp", Pub("other/secret"), true),
            (None, "a/b", Pub("a/b/secret"), false),
            (None, "a/b", Pub("x"), false),
            (None, "+", Pub("x/secret"), false),
            (None, "+", Recv("x/secret"), true),
        ],
    );
}

#[test]
fn an_empty_user_name_is_not_substituted() {
    let acl = new_acl(vec![rule(EVERYONE, ALLOW, ReadWrite, "%u/#")]);
    check(
        &acl,
        &[
            (Some(""), "c", Pub("/x"), false),
            (Some("u"), "c", Pub("u/x"), true),
        ],
    );
}

#[test]
fn in_process_clients_are_unrestricted() {
    let c = ClientAcl::unrestricted();
    assert!(c.reads_everything());
    assert!(c.can_write("hearth/kitchen-pi/status"));
    assert!(c.can_write("$SYS/broker/uptime"));
    assert!(c.subscribe("#"));
}

#[test]
fn unusable_filters_are_refused() {
    let cases: &[(&str, Result<(), RuleFilterError>)] = &[
        ("a/%u/#", Ok(())),
        ("%c", Ok(())),
        ("x-%u-%c/+", Ok(())),
        ("a/%x", Err(RuleFilterError::Placeholder(Some('x')))),
        ("a/%", Err(RuleFilterError::Placeholder(None))),
        ("%%u", Err(RuleFilterError::Placeholder(Some('%')))),
        (
            "a/#/b",
            Err(RuleFilterError::Invalid(FilterError::MisplacedHash)),
        ),
        (
            "%u#",
            Err(RuleFilterError::Invalid(FilterError::MisplacedHash)),
        ),
        (
            "+%c",
            Err(RuleFilterError::Invalid(FilterError::MisplacedPlus)),
        ),
        ("", Err(RuleFilterError::Invalid(FilterError::Empty))),
    ];
    for (filter, want) in cases {
        assert_eq!(check_rule_filter(filter), *want, "{filter:?}");
    }
    let err = Acl::new(vec![rule(EVERYONE, ALLOW, Read, "a/%x")], Vec::new())
        .expect_err("bad placeholder");
    assert!(matches!(err, AclError::Rule { index: 0, .. }), "{err}");
    assert!(
        err.to_string().contains("use %u for the user name"),
        "{err}"
    );
    let err = Acl::new(Vec::new(), vec!["hearth/#/x".to_string()]).expect_err("bad prefix");
    assert!(matches!(err, AclError::Protected { .. }), "{err}");
}

#[test]
fn open_topics_are_carved_out_of_protected_ones_without_changing_the_default() {
    let open = vec!["hearth/kitchen-pi/sim/+/set".to_string()];
    let acl = new_acl(Vec::new())
        .with_open(open.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(acl.default_decision(), DefaultDecision::Allow);
    check(
        &acl,
        &[
            (None, "c", Pub("hearth/kitchen-pi/sim/fridge/set"), true),
            (None, "c", Pub("hearth/kitchen-pi/sim/fridge/get"), false),
            (None, "c", Pub("hearth/kitchen-pi/status"), false),
        ],
    );
    // With rules, an open topic is written like any other: only if a rule allows it.
    let ruled = new_acl(vec![rule(user("a"), true, Access::Write, "Kitchen/#")])
        .with_open(open)
        .unwrap_or_else(|e| panic!("{e}"));
    check(
        &ruled,
        &[
            (
                Some("a"),
                "c",
                Pub("hearth/kitchen-pi/sim/fridge/set"),
                false,
            ),
            (Some("a"), "c", Pub("Kitchen/x"), true),
        ],
    );
}

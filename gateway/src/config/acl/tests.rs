//! `[[broker.acl]]` entries, read from TOML text the way `Config::parse` reads the `[broker]`
//! table's arrays of tables.

use super::*;
use crate::config::ConfigError;
use toml::de::DeTable;

/// The rules of `text`'s `[[broker.acl]]` entries, or every error found in them.
fn read(text: &str) -> Result<Vec<AclRule>, Vec<ConfigError>> {
    let mut errs = ErrorSink::new(text);
    let doc = DeTable::parse(text).unwrap_or_else(|e| panic!("not TOML: {e}"));
    let mut root = TableReader::new(doc.get_ref(), "", 0..0);
    let mut broker = root
        .table(&mut errs, "broker")
        .unwrap_or_else(|| panic!("no [broker] table"));
    let tables = broker.array_of_tables(&mut errs, "acl");
    let rules = read_all(tables, &mut errs);
    if errs.is_empty() {
        Ok(rules)
    } else {
        Err(errs.into_errors("test.toml").errors)
    }
}

fn errors_of(text: &str) -> Vec<ConfigError> {
    match read(text) {
        Ok(rules) => panic!("expected errors, got {rules:?}"),
        Err(errors) => errors,
    }
}

fn rule(who: Who, allow: bool, access: Access, filter: &str) -> AclRule {
    AclRule {
        who,
        allow,
        access,
        filter: filter.to_string(),
    }
}

#[test]
fn rules_are_read_in_file_order() {
    let text = r#"
[broker]
listen = "0.0.0.0:1883"

[[broker.acl]]
user = "kitchen-node"
allow = "write"
topic = "Kitchen/Fridge/#"

[[broker.acl]]
user = "kitchen-node"
allow = "read"
topic = "%c/set"

[[broker.acl]]
client = "esp-hall"
deny = "readwrite"
topic = "hearth/#"

[[broker.acl]]
allow = "READ"
topic = "users/%u/#"

[[broker.acl]]
client = "esp-porch"
deny = "Write"
topic = "%u/%c"
"#;
    let rules = read(text).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(
        rules,
        vec![
            rule(
                Who::User("kitchen-node".into()),
                true,
                Access::Write,
                "Kitchen/Fridge/#"
            ),
            rule(
                Who::User("kitchen-node".into()),
                true,
                Access::Read,
                "%c/set"
            ),
            rule(
                Who::Client("esp-hall".into()),
                false,
                Access::ReadWrite,
                "hearth/#"
            ),
            rule(Who::Everyone, true, Access::Read, "users/%u/#"),
            // %u in a rule for a client is fine: it applies when that client has a user name.
            rule(
                Who::Client("esp-porch".into()),
                false,
                Access::Write,
                "%u/%c"
            ),
        ]
    );
}

#[test]
fn no_entries_give_no_rules() {
    assert_eq!(read("[broker]\n"), Ok(Vec::new()));
}

/// (entry keys, key path, line, words the message must hold)
const BAD_ENTRIES: &[(&str, &str, usize, &[&str])] = &[
    (
        "user = \"a\"\nclient = \"b\"\nallow = \"read\"\ntopic = \"x\"",
        "broker.acl[0].client",
        4,
        &["both `user` and `client`", "split it into two rules"],
    ),
    (
        "user = \"\"\nallow = \"read\"\ntopic = \"x\"",
        "broker.acl[0].user",
        3,
        &["must not be empty", "leave `user` out"],
    ),
    (
        "topic = \"x\"",
        "broker.acl[0].allow",
        2,
        &["missing", "`allow` or `deny`", "\"readwrite\""],
    ),
    (
        "allow = \"read\"\ndeny = \"write\"\ntopic = \"x\"",
        "broker.acl[0].deny",
        4,
        &["both `allow` and `deny`", "split it into two rules"],
    ),
    (
        "allow = \"rw\"\ntopic = \"x\"",
        "broker.acl[0].allow",
        3,
        &[
            "\"rw\" is not an access",
            "\"read\", \"write\" or \"readwrite\"",
            "did you mean \"readwrite\"?",
        ],
    ),
    (
        "deny = \"wirte\"\ntopic = \"x\"",
        "broker.acl[0].deny",
        3,
        &["\"wirte\" is not an access", "did you mean \"write\"?"],
    ),
    (
        "allow = \"deny\"\ntopic = \"x\"",
        "broker.acl[0].allow",
        3,
        &["write deny = \"readwrite\""],
    ),
    (
        "allow = \"read\"",
        "broker.acl[0].topic",
        2,
        &["missing", "needs a `topic`"],
    ),
    (
        "allow = \"read\"\ntopic = \"a/#/b\"",
        "broker.acl[0].topic",
        4,
        &[
            "\"a/#/b\" is not a valid topic filter",
            "'#' must be the last",
        ],
    ),
    (
        "allow = \"read\"\ntopic = \"%u#\"",
        "broker.acl[0].topic",
        4,
        &["once %u and %c are filled in", "'#' must"],
    ),
    (
        "allow = \"read\"\ntopic = \"+%c\"",
        "broker.acl[0].topic",
        4,
        &["once %u and %c are filled in", "'+' must stand alone"],
    ),
    (
        "allow = \"read\"\ntopic = \"devices/%d/set\"",
        "broker.acl[0].topic",
        4,
        &[
            "\"%d\" is not a placeholder",
            "%u for the user name",
            "%c for the client id",
        ],
    ),
    (
        "allow = \"read\"\ntopic = \"100%\"",
        "broker.acl[0].topic",
        4,
        &["\"%\" is not a placeholder"],
    ),
    (
        "allow = \"read\"\ntopic = \"\"",
        "broker.acl[0].topic",
        4,
        &["must not be empty"],
    ),
    (
        "allow = \"read\"\ntopic = \"x\"\nusers = \"a\"",
        "broker.acl[0].users",
        5,
        &["unknown key `users`", "user, client, allow, deny, topic"],
    ),
    (
        "allow = true\ntopic = \"x\"",
        "broker.acl[0].allow",
        3,
        &["must be a string, got boolean"],
    ),
];

#[test]
fn every_bad_entry_is_reported_with_its_path_line_and_fix() {
    for &(keys, path, line, words) in BAD_ENTRIES {
        let text = format!("[broker]\n[[broker.acl]]\n{keys}\n");
        let errs = errors_of(&text);
        assert_eq!(errs.len(), 1, "{keys:?}: {errs:#?}");
        assert_eq!(
            (errs[0].path.as_str(), errs[0].line),
            (path, line),
            "{keys:?}"
        );
        for w in words {
            assert!(errs[0].message.contains(w), "{keys:?}: {}", errs[0].message);
        }
    }
}

#[test]
fn all_mistakes_of_all_entries_are_reported_at_once() {
    let text = r#"[broker]
[[broker.acl]]
user = "a"
client = "b"
allow = "sometimes"
topic = "a/#/b"

[[broker.acl]]
allow = "read"
topic = "ok/#"

[[broker.acl]]
deny = "write"
topic = "%x"
"#;
    let errs = errors_of(text);
    let found: Vec<(&str, usize)> = errs.iter().map(|e| (e.path.as_str(), e.line)).collect();
    assert_eq!(
        found,
        [
            ("broker.acl[0].client", 4),
            ("broker.acl[0].allow", 5),
            ("broker.acl[0].topic", 6),
            ("broker.acl[2].topic", 14),
        ],
        "{errs:#?}"
    );
}

#[test]
fn a_huge_filter_is_quoted_by_its_prefix() {
    let huge = "a/#/".repeat(5_000);
    let errs = errors_of(&format!(
        "[broker]\n[[broker.acl]]\nallow = \"read\"\ntopic = \"{huge}\"\n"
    ));
    assert!(errs[0].message.chars().count() < 300, "{}", errs[0].message);
}

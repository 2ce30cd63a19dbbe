use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::auth::hash::tests::MOSQUITTO_2_0_11;

/// A directory that lives as long as the value.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("hearth-passwd-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("passwd")
    }

    /// Everything in the directory, to show no temporary file was left behind.
    fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn mosquitto_file() -> String {
    let lines: Vec<&str> = MOSQUITTO_2_0_11.iter().map(|(_, _, line)| *line).collect();
    lines.join("\n") + "\n"
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
}

fn problems(err: PasswordFileError) -> Vec<(usize, LineProblem)> {
    match err {
        PasswordFileError::Malformed { lines, .. } => {
            lines.into_iter().map(|e| (e.line, e.problem)).collect()
        }
        other => panic!("expected Malformed, got {other}"),
    }
}

#[test]
fn a_mosquitto_passwd_file_is_read_in_order() {
    let file = PasswordFile::parse(&mosquitto_file()).expect("parse");
    assert_eq!(file.len(), 5);
    assert!(!file.is_empty());
    let users: Vec<&str> = file.users().collect();
    assert_eq!(users, ["alice", "bob", "carol", "dave", "erin"]);
    for (user, password, _) in MOSQUITTO_2_0_11 {
        assert!(file.get(user).expect(user).verify(password.as_bytes()));
    }
    assert!(file.get("mallory").is_none());
}

#[test]
fn blank_lines_comments_blanks_and_crlf_are_ignored() {
    let alice = MOSQUITTO_2_0_11[0].2;
    let (user, hash) = alice.split_once(':').expect("colon");
    let text = format!(
        "\u{feff}# users of the broker\r\n\r\n   \n  # indented comment\n  {user} :\t{hash} \r\n\n"
    );
    let file = PasswordFile::parse(&text).expect("parse");
    assert_eq!(file.users().collect::<Vec<_>>(), ["alice"]);
    assert!(file.get("alice").expect("alice").verify(b"correct horse"));
    let bom = format!("\u{feff}{alice}\n");
    assert_eq!(
        PasswordFile::parse(&bom)
            .expect("parse")
            .users()
            .collect::<Vec<_>>(),
        ["alice"]
    );
}

#[test]
fn an_empty_file_has_no_users() {
    let file = PasswordFile::parse("").expect("parse");
    assert!(file.is_empty());
    assert_eq!(file.len(), 0);
}

#[test]
fn every_malformed_line_is_reported_with_its_number() {
    let alice = MOSQUITTO_2_0_11[0].2;
    let hash = alice.split_once(':').expect("colon").1;
    let text = [
        "# comment",
        alice,
        "no colon here",
        &format!(":{hash}"),
        "bob:$2y$10$abcdefghijklmnopqrstuv",
        "carol:$7$101$!!!notbase64$AAAA",
        alice,
        "dave:plaintext",
        &format!("tab\tuser:{hash}"),
        "",
    ]
    .join("\n");
    let err = PasswordFile::parse(&text).expect_err("malformed");
    let message = err.to_string();
    assert_eq!(
        problems(err),
        [
            (3, LineProblem::MissingColon),
            (4, LineProblem::EmptyUser),
            (
                5,
                LineProblem::Hash {
                    user: "bob".into(),
                    problem: HashError::Unsupported("bcrypt")
                }
            ),
            (
                6,
                LineProblem::Hash {
                    user: "carol".into(),
                    problem: HashError::BadBase64 {
                        scheme: "$7$ (PBKDF2-SHA512)",
                        field: "salt"
                    }
                }
            ),
            (
                7,
                LineProblem::DuplicateUser {
                    user: "alice".into(),
                    first_line: 2
                }
            ),
            (
                8,
                LineProblem::Hash {
                    user: "dave".into(),
                    problem: HashError::NotAHash
                }
            ),
            (
                9,
                LineProblem::BadUser {
                    user: "tab\tuser".into(),
                    why: UserNameError::Control
                }
            ),
        ]
    );
    assert!(
        message.starts_with("7 errors in the password file:\n  line 3: no `:`"),
        "{message}"
    );
    for secret in [hash, "plaintext", "abcdefghijkl", "notbase64"] {
        assert!(!message.contains(secret), "{message}");
    }
}

#[test]
fn loading_names_the_file_and_what_to_do() {
    let dir = TempDir::new("load");
    let path = dir.file();
    let missing = PasswordFile::load(&path).expect_err("missing").to_string();
    assert!(missing.contains(&format!("{}: no such password file", path.display())));
    assert!(missing.contains(&format!("run `hearth passwd {} USER`", path.display())));

    fs::write(&path, "alice\n").expect("write");
    let malformed = PasswordFile::load(&path)
        .expect_err("malformed")
        .to_string();
    assert!(
        malformed.starts_with(&format!(
            "{}: 1 error in the password file:\n  line 1:",
            path.display()
        )),
        "{malformed}"
    );

    fs::write(&path, mosquitto_file()).expect("write");
    assert_eq!(PasswordFile::load(&path).expect("load").len(), 5);
}

#[test]
fn permission_denied_says_how_to_let_the_broker_read_it() {
    // Tests may run as root, which no file mode stops: check the mapping itself.
    let path = Path::new("/etc/hearth/passwd");
    let err = read_error(path, io::Error::from(io::ErrorKind::PermissionDenied)).to_string();
    assert!(
        err.starts_with("/etc/hearth/passwd: permission denied"),
        "{err}"
    );
    assert!(
        err.contains("sudo chgrp hearth /etc/hearth/passwd"),
        "{err}"
    );
}

#[test]
fn a_line_that_is_not_utf8_is_reported_with_its_number() {
    let dir = TempDir::new("utf8");
    let mut bytes = mosquitto_file().into_bytes();
    bytes.extend_from_slice(b"zo\xe9:$6$AAAA$BBBB\n");
    fs::write(dir.file(), &bytes).expect("write");
    let err = PasswordFile::load(&dir.file()).expect_err("not utf8");
    assert_eq!(problems(err), [(6, LineProblem::NotUtf8)]);
    let err = set_user(&dir.file(), "alice", b"x").expect_err("not utf8");
    assert_eq!(problems(err), [(6, LineProblem::NotUtf8)]);
}

#[test]
fn set_user_creates_the_file_with_mode_0640() {
    let dir = TempDir::new("create");
    let path = dir.file();
    assert_eq!(
        set_user(&path, "alice", b"s3cret").expect("set"),
        SetOutcome::Created
    );
    assert_eq!(mode(&path), 0o640);
    let text = fs::read_to_string(&path).expect("read");
    assert!(
        text.starts_with("alice:$argon2id$v=19$m=8192,t=1,p=1$"),
        "{text}"
    );
    assert!(text.ends_with('\n') && text.lines().count() == 1, "{text}");
    let file = PasswordFile::load(&path).expect("load");
    assert!(file.get("alice").expect("alice").verify(b"s3cret"));
    assert_eq!(dir.listing(), ["passwd"]);
}

#[test]
fn set_user_adds_and_changes_keeping_other_lines_as_they_were() {
    let dir = TempDir::new("edit");
    let path = dir.file();
    let original = format!("# broker users\r\n\n{}# end, no newline", mosquitto_file());
    fs::write(&path, &original).expect("write");
    fs::set_permissions(&path, Permissions::from_mode(0o600)).expect("chmod");

    assert_eq!(
        set_user(&path, "bob", b"new bob").expect("set"),
        SetOutcome::Changed
    );
    assert_eq!(
        set_user(&path, "frank", b"frank's").expect("set"),
        SetOutcome::Added
    );

    let text = fs::read_to_string(&path).expect("read");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let before: Vec<&str> = original.split_inclusive('\n').collect();
    assert_eq!(lines.len(), before.len() + 1, "{text}");
    for (i, (now, was)) in lines.iter().zip(&before).enumerate() {
        if i == 3 {
            assert!(now.starts_with("bob:$argon2id$"), "{now}");
        } else if i == before.len() - 1 {
            assert_eq!(*now, "# end, no newline\n");
        } else {
            assert_eq!(now, was);
        }
    }
    assert!(lines[lines.len() - 1].starts_with("frank:$argon2id$"));

    let file = PasswordFile::load(&path).expect("load");
    assert_eq!(
        file.users().collect::<Vec<_>>(),
        ["alice", "bob", "carol", "dave", "erin", "frank"]
    );
    assert!(file.get("bob").expect("bob").verify(b"new bob"));
    assert!(!file
        .get("bob")
        .expect("bob")
        .verify("pässwörd 🔑".as_bytes()));
    assert!(file.get("frank").expect("frank").verify(b"frank's"));
    assert!(file.get("alice").expect("alice").verify(b"correct horse"));
    assert_eq!(mode(&path), 0o600, "the file keeps its permissions");
    assert_eq!(dir.listing(), ["passwd"]);
}

#[test]
fn set_user_refuses_a_file_with_other_bad_lines_and_changes_nothing() {
    let dir = TempDir::new("refuse");
    let path = dir.file();
    let text = format!("{}garbage\nbob:plain\n", mosquitto_file());
    fs::write(&path, &text).expect("write");
    let err = set_user(&path, "alice", b"x").expect_err("refused");
    let message = err.to_string();
    assert_eq!(
        problems(err),
        [
            (6, LineProblem::MissingColon),
            (
                7,
                LineProblem::DuplicateUser {
                    user: "bob".into(),
                    first_line: 2
                }
            ),
            (
                7,
                LineProblem::Hash {
                    user: "bob".into(),
                    problem: HashError::NotAHash
                }
            ),
        ]
    );
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert_eq!(fs::read_to_string(&path).expect("read"), text);
    assert_eq!(dir.listing(), ["passwd"]);
}

#[test]
fn set_user_replaces_the_users_own_bad_and_duplicate_lines() {
    let dir = TempDir::new("repair");
    let path = dir.file();
    let bob = MOSQUITTO_2_0_11[1].2;
    fs::write(&path, format!("alice:plain\n{bob}\nalice:$6$AAAA$BBBB\n")).expect("write");
    assert_eq!(
        set_user(&path, "alice", b"fixed").expect("set"),
        SetOutcome::Changed
    );
    let file = PasswordFile::load(&path).expect("repaired");
    assert_eq!(file.users().collect::<Vec<_>>(), ["alice", "bob"]);
    assert!(file.get("alice").expect("alice").verify(b"fixed"));
}

#[test]
fn delete_user_removes_only_that_user() {
    let dir = TempDir::new("delete");
    let path = dir.file();
    let original = format!("# users\n{}", mosquitto_file());
    fs::write(&path, &original).expect("write");
    delete_user(&path, "carol").expect("delete");
    let text = fs::read_to_string(&path).expect("read");
    let expected: String = original
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("carol:"))
        .collect();
    assert_eq!(text, expected);
    assert_eq!(dir.listing(), ["passwd"]);

    let err = delete_user(&path, "carol").expect_err("gone").to_string();
    assert_eq!(
        err,
        format!("{}: there is no user \"carol\" to delete", path.display())
    );
    let err = delete_user(&dir.0.join("nothing"), "carol")
        .expect_err("no file")
        .to_string();
    assert!(
        err.contains("no such password file, so no user \"carol\" to delete"),
        "{err}"
    );
}

#[test]
fn user_names_the_file_cannot_hold_are_refused_clearly() {
    let dir = TempDir::new("names");
    let path = dir.file();
    for (user, expected) in [
        ("", "the user name is empty"),
        ("a:b", "cannot contain `:`"),
        ("new\nline", "control characters"),
        ("tab\t", "control characters"),
        (" alice", "start or end with a space"),
        ("alice ", "start or end with a space"),
        ("#alice", "start with `#`"),
    ] {
        let err = set_user(&path, user, b"pw").expect_err(user).to_string();
        assert!(err.contains(expected), "{user:?}: {err}");
        assert!(err.starts_with(&format!("{user:?}: ")), "{err}");
        let err = delete_user(&path, user).expect_err(user).to_string();
        assert!(err.contains(expected), "{user:?}: {err}");
    }
    let long = "x".repeat(65_536);
    assert_eq!(validate_user(&long), Err(UserNameError::TooLong));
    assert_eq!(validate_user("esp-kitchen.01 ünïcode"), Ok(()));
    assert!(!path.exists());
}

#[test]
fn editing_through_a_symbolic_link_keeps_the_link() {
    let dir = TempDir::new("symlink");
    let target = dir.0.join("real-passwd");
    let link = dir.file();
    fs::write(&target, mosquitto_file()).expect("write");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    set_user(&link, "frank", b"pw").expect("set");
    assert!(fs::symlink_metadata(&link)
        .expect("lstat")
        .file_type()
        .is_symlink());
    assert!(PasswordFile::load(&target)
        .expect("load")
        .get("frank")
        .is_some());
    assert_eq!(dir.listing(), ["passwd", "real-passwd"]);
}

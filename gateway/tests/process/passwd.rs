//! `hearth passwd` as a script runs it, and files written by Mosquitto's `mosquitto_passwd`.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use broker::auth::{AuthOutcome, Authenticator, PasswordFile};

use super::harness::{hearth, TempDir};

/// Runs `hearth passwd ARGS` with `stdin` as its standard input: (exit code, stdout, stderr).
fn passwd(args: &[&str], file: &Path, user: &str, stdin: &[u8]) -> (i32, String, String) {
    let mut child = hearth()
        .arg("passwd")
        .args(args)
        .arg(file)
        .arg(user)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hearth");
    // hearth may exit before reading (a bad user name): a broken pipe is not the test's failure.
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    let out = child.wait_with_output().expect("wait for hearth");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn users(file: &Path) -> Vec<String> {
    let file = PasswordFile::load(file).expect("load the password file");
    file.users().map(str::to_owned).collect()
}

fn check(file: &Path, user: &str, password: &str) -> AuthOutcome {
    let auth = Authenticator::new(Some(PasswordFile::load(file).expect("load")), false);
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(auth.check(Some(user), Some(password.as_bytes())))
}

fn accepted(user: &str) -> AuthOutcome {
    AuthOutcome::Accepted {
        username: Some(user.into()),
        credentials_ignored: false,
    }
}

#[test]
fn passwd_with_stdin_adds_and_changes_users_and_d_deletes_them() {
    let dir = TempDir::new("passwd-stdin");
    let file = dir.0.join("passwd");
    let shown = file.display().to_string();

    let (code, stdout, stderr) = passwd(&["--stdin"], &file, "alice", b"s3cret\n");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with(&format!("{shown}: created (mode 640) with user alice")),
        "{stdout}"
    );
    let mode = std::fs::metadata(&file).expect("file").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(text.starts_with("alice:$argon2id$v=19$"), "{text}");
    assert!(!text.contains("s3cret"));

    let (code, stdout, stderr) = passwd(&["--stdin"], &file, "bob", b"b0b's\r\n");
    assert_eq!(
        (code, stdout.trim()),
        (0, &*format!("{shown}: added user bob")),
        "{stderr}"
    );
    let (code, stdout, stderr) = passwd(&["--stdin"], &file, "alice", b"n3w\n");
    assert_eq!(
        (code, stdout.trim()),
        (0, &*format!("{shown}: changed the password of alice")),
        "{stderr}"
    );
    assert_eq!(users(&file), ["alice", "bob"]);
    assert_eq!(check(&file, "alice", "n3w"), accepted("alice"));
    assert_eq!(check(&file, "alice", "s3cret"), AuthOutcome::BadCredentials);
    assert_eq!(check(&file, "bob", "b0b's"), accepted("bob"));

    let (code, stdout, stderr) = passwd(&["-D"], &file, "alice", b"");
    assert_eq!(
        (code, stdout.trim()),
        (0, &*format!("{shown}: deleted user alice")),
        "{stderr}"
    );
    assert_eq!(users(&file), ["bob"]);
    assert_eq!(check(&file, "alice", "n3w"), AuthOutcome::BadCredentials);

    // Bad input: exit status 2, a message, and the file as it was.
    let before = std::fs::read(&file).expect("read");
    for (args, user, stdin, expected) in [
        (
            &["-D"][..],
            "alice",
            &b""[..],
            "there is no user \"alice\" to delete",
        ),
        (
            &["--stdin"],
            "a:b",
            b"pw\n",
            "a user name cannot contain `:`",
        ),
        (&["--stdin"], "bob", b"", "no password on standard input"),
        (&["--stdin"], "bob", b"\n", "the password is empty"),
        (&["-D", "--stdin"], "bob", b"", "cannot be used with"),
    ] {
        let (code, _, stderr) = passwd(args, &file, user, stdin);
        assert_eq!(code, 2, "{args:?} {user}: {stderr}");
        assert!(stderr.contains(expected), "{args:?} {user}: {stderr}");
    }
    assert_eq!(std::fs::read(&file).expect("read"), before);
}

/// Runs Debian's `mosquitto_passwd` (package `mosquitto`).
fn mosquitto_passwd(args: &[&str]) {
    let out = Command::new("mosquitto_passwd")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run mosquitto_passwd ({e}); install Debian's mosquitto")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_file_written_by_mosquitto_passwd_is_accepted_and_kept_when_edited() {
    let dir = TempDir::new("passwd-mosquitto");
    let file = dir.0.join("passwd");
    let path = file.to_str().expect("utf-8 path");
    mosquitto_passwd(&["-b", "-c", path, "alice", "correct horse"]);
    mosquitto_passwd(&["-H", "sha512", "-b", path, "carol", "hunter2"]);
    let written = std::fs::read_to_string(&file).expect("read");
    assert!(
        written.contains("alice:$7$101$") && written.contains("carol:$6$"),
        "{written}"
    );

    assert_eq!(check(&file, "alice", "correct horse"), accepted("alice"));
    assert_eq!(check(&file, "carol", "hunter2"), accepted("carol"));
    assert_eq!(
        check(&file, "alice", "hunter2"),
        AuthOutcome::BadCredentials
    );

    // Adding a user with hearth keeps Mosquitto's lines as they were.
    let (code, _, stderr) = passwd(&["--stdin"], &file, "esp-kitchen", b"wifi node\n");
    assert_eq!(code, 0, "{stderr}");
    let edited = std::fs::read_to_string(&file).expect("read");
    assert!(edited.starts_with(&written), "{edited}");
    assert_eq!(users(&file), ["alice", "carol", "esp-kitchen"]);
    assert_eq!(
        check(&file, "esp-kitchen", "wifi node"),
        accepted("esp-kitchen")
    );
}

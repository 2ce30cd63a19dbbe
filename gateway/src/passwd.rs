//! `hearth passwd`: adds a user to the broker's password file, changes a user's password, or
//! deletes a user. The file is Mosquitto's format, so `mosquitto_passwd` files carry over.

use std::io::{self, BufRead};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use broker::auth::password_file::{self, validate_user, NEW_FILE_MODE};
use broker::auth::{PasswordFileError, SetOutcome};
use thiserror::Error;

/// Exit status for bad input (as `hearth check` uses for a bad configuration).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Where a new password comes from.
pub enum PasswordSource<'a> {
    /// Asked for twice, through a prompt that does not echo ([`terminal_prompt`]).
    Prompt(&'a mut dyn FnMut(&str) -> io::Result<String>),
    /// The first line of a reader (standard input, for scripts), without confirmation.
    Line(&'a mut dyn BufRead),
}

#[derive(Debug, Error)]
pub enum PasswdError {
    #[error("{0}")]
    File(#[from] PasswordFileError),
    #[error("the passwords do not match; nothing was changed")]
    Mismatch,
    #[error("the password is empty; nothing was changed")]
    Empty,
    #[error("no password on standard input (one line expected); nothing was changed")]
    NoInput,
    #[error(
        "cannot ask for the password ({0}); in scripts, use `hearth passwd --stdin FILE USER`"
    )]
    NoTerminal(io::Error),
    #[error("cannot read the password from standard input: {0}")]
    Stdin(io::Error),
}

impl PasswdError {
    /// [`EXIT_BAD_INPUT`] for what the user can fix by asking differently, 1 for failures of
    /// the system (a file that cannot be written, a broken pipe).
    pub fn exit_code(&self) -> u8 {
        match self {
            PasswdError::File(PasswordFileError::Io { .. }) | PasswdError::Stdin(_) => 1,
            _ => EXIT_BAD_INPUT,
        }
    }
}

/// Asks on the terminal (`/dev/tty`), without echo.
pub fn terminal_prompt(prompt: &str) -> io::Result<String> {
    rpassword::prompt_password(prompt)
}

/// Adds `user` or changes its password; returns what to tell the user.
pub fn set(file: &Path, user: &str, source: PasswordSource<'_>) -> Result<String, PasswdError> {
    // Before asking for a password that could not be used.
    validate_user(user).map_err(|why| PasswordFileError::BadUser {
        user: user.to_owned(),
        why,
    })?;
    let password = match source {
        PasswordSource::Prompt(prompt) => {
            let first =
                prompt(&format!("Password for {user}: ")).map_err(PasswdError::NoTerminal)?;
            let again = prompt("Again: ").map_err(PasswdError::NoTerminal)?;
            if first != again {
                return Err(PasswdError::Mismatch);
            }
            first.into_bytes()
        }
        PasswordSource::Line(reader) => read_line(reader)?,
    };
    if password.is_empty() {
        return Err(PasswdError::Empty);
    }
    let shown = file.display();
    Ok(match password_file::set_user(file, user, &password)? {
        SetOutcome::Added => format!("{shown}: added user {user}"),
        SetOutcome::Changed => format!("{shown}: changed the password of {user}"),
        SetOutcome::Created => {
            let mut done = format!("{shown}: created (mode {NEW_FILE_MODE:o}) with user {user}");
            // Made by root, the file is root's group's: the broker's own user cannot read it.
            if std::fs::metadata(file).is_ok_and(|m| m.gid() == 0) {
                done.push_str(&format!(
                    "\nthe broker reads it as its own user: on the Pi, `sudo chgrp hearth {shown}`"
                ));
            }
            done
        }
    })
}

/// Deletes `user`; returns what to tell the user.
pub fn delete(file: &Path, user: &str) -> Result<String, PasswdError> {
    password_file::delete_user(file, user)?;
    Ok(format!("{}: deleted user {user}", file.display()))
}

/// One line, without its line ending (`\n` or `\r\n`). Bytes, not text: an MQTT password is
/// binary data.
fn read_line(reader: &mut dyn BufRead) -> Result<Vec<u8>, PasswdError> {
    let mut line = Vec::new();
    if reader
        .read_until(b'\n', &mut line)
        .map_err(PasswdError::Stdin)?
        == 0
    {
        return Err(PasswdError::NoInput);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::PathBuf;

    use broker::auth::PasswordFile;

    use super::*;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir()
                .join(format!("hearth-passwd-cli-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn verifies(file: &Path, user: &str, password: &[u8]) -> bool {
        let file = PasswordFile::load(file).expect("load");
        file.get(user).is_some_and(|h| h.verify(password))
    }

    /// A terminal that answers the prompts in turn, and records them.
    fn answers<'a>(
        replies: &'a [&'a str],
        asked: &'a mut Vec<String>,
    ) -> impl FnMut(&str) -> io::Result<String> + 'a {
        let mut replies = replies.iter();
        move |prompt| {
            asked.push(prompt.to_owned());
            Ok(replies.next().expect("asked too often").to_string())
        }
    }

    #[test]
    fn the_password_is_asked_twice_and_must_match() {
        let dir = TempDir::new("prompt");
        let file = dir.0.join("passwd");
        let mut asked = Vec::new();
        let mut prompt = answers(&["pässwörd", "pässwörd"], &mut asked);
        let done = set(&file, "alice", PasswordSource::Prompt(&mut prompt)).expect("set");
        drop(prompt);
        assert!(
            done.starts_with(&format!(
                "{}: created (mode 640) with user alice",
                file.display()
            )),
            "{done}"
        );
        assert_eq!(asked, ["Password for alice: ", "Again: "]);
        assert!(verifies(&file, "alice", "pässwörd".as_bytes()));

        let before = std::fs::read(&file).expect("read");
        let mut asked = Vec::new();
        let mut prompt = answers(&["one", "two"], &mut asked);
        let err = set(&file, "alice", PasswordSource::Prompt(&mut prompt)).expect_err("mismatch");
        assert_eq!(
            err.to_string(),
            "the passwords do not match; nothing was changed"
        );
        assert_eq!(err.exit_code(), EXIT_BAD_INPUT);
        assert_eq!(std::fs::read(&file).expect("read"), before);
    }

    #[test]
    fn without_a_terminal_the_message_points_to_stdin() {
        let dir = TempDir::new("notty");
        let mut prompt =
            |_: &str| -> io::Result<String> { Err(io::Error::other("No such device or address")) };
        let err = set(
            &dir.0.join("passwd"),
            "alice",
            PasswordSource::Prompt(&mut prompt),
        )
        .expect_err("no tty");
        assert!(
            err.to_string()
                .contains("use `hearth passwd --stdin FILE USER`"),
            "{err}"
        );
        assert_eq!(err.exit_code(), EXIT_BAD_INPUT);
    }

    #[test]
    fn a_line_of_input_loses_only_its_line_ending() {
        let dir = TempDir::new("line");
        let file = dir.0.join("passwd");
        for (input, password) in [
            (&b"s3cret\n"[..], &b"s3cret"[..]),
            (b"crlf\r\nsecond line ignored\n", b"crlf"),
            (b" spaces kept \n", b" spaces kept "),
            (b"no newline", b"no newline"),
            (b"\xff\xfebinary\n", b"\xff\xfebinary"),
        ] {
            let mut reader = input;
            set(&file, "bob", PasswordSource::Line(&mut reader)).expect("set");
            assert!(verifies(&file, "bob", password), "{input:?}");
        }
    }

    #[test]
    fn empty_or_missing_input_changes_nothing() {
        let dir = TempDir::new("empty");
        let file = dir.0.join("passwd");
        for (input, expected) in [
            (&b""[..], "no password on standard input"),
            (b"\n", "the password is empty"),
            (b"\r\n", "the password is empty"),
        ] {
            let mut reader = input;
            let err = set(&file, "bob", PasswordSource::Line(&mut reader)).expect_err("refused");
            assert!(err.to_string().starts_with(expected), "{err}");
            assert_eq!(err.exit_code(), EXIT_BAD_INPUT);
        }
        assert!(!file.exists());
    }

    #[test]
    fn a_bad_user_name_is_refused_before_asking() {
        let dir = TempDir::new("badname");
        let mut prompt = |_: &str| -> io::Result<String> { panic!("asked for a password") };
        let err = set(
            &dir.0.join("passwd"),
            "a:b",
            PasswordSource::Prompt(&mut prompt),
        )
        .expect_err("bad name");
        assert_eq!(
            err.to_string(),
            "\"a:b\": a user name cannot contain `:` (it separates the name from the hash)"
        );
        assert_eq!(err.exit_code(), EXIT_BAD_INPUT);
    }

    #[test]
    fn delete_says_what_it_did() {
        let dir = TempDir::new("delete");
        let file = dir.0.join("passwd");
        let err = delete(&file, "alice").expect_err("no file");
        assert_eq!(err.exit_code(), EXIT_BAD_INPUT);
        let mut reader = &b"pw\n"[..];
        set(&file, "alice", PasswordSource::Line(&mut reader)).expect("set");
        assert_eq!(
            delete(&file, "alice").expect("delete"),
            format!("{}: deleted user alice", file.display())
        );
        let err = delete(&file, "alice").expect_err("gone");
        assert_eq!(err.exit_code(), EXIT_BAD_INPUT);
    }
}

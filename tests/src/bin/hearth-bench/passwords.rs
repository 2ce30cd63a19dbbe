//! Password files for the authenticated benchmarks: one written by Mosquitto's own
//! `mosquitto_passwd` (which both brokers read), one written as `hearth passwd` writes it
//! (argon2id, which only Hearth reads).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The password of bench user `user`: distinct per user, so no two users share a hash.
pub fn password_of(user: &str) -> String {
    format!("pw-{user}-bench")
}

/// Writes `users` with `mosquitto_passwd -b FILE USER PASS`, one call per user, and checks
/// that every line is a PBKDF2-SHA512 (`$7$`) hash, as Mosquitto 2.0 writes.
pub fn write_mosquitto(tool: &Path, path: &Path, users: &[String]) -> Result<PathBuf> {
    // `-b` adds to an existing file; an empty file is a valid one.
    fs::write(path, "").with_context(|| format!("creating {}", path.display()))?;
    for user in users {
        let out = Command::new(tool)
            .arg("-b")
            .arg(path)
            .arg(user)
            .arg(password_of(user))
            .output()
            .with_context(|| format!("running {}", tool.display()))?;
        if !out.status.success() {
            bail!(
                "{} -b {} {user} failed with {}: {}",
                tool.display(),
                path.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    check_scheme(path, users.len(), "$7$")?;
    Ok(path.to_path_buf())
}

/// Writes `users` the way `hearth passwd` does (argon2id with Hearth's parameters).
pub fn write_argon2id(path: &Path, users: &[String]) -> Result<PathBuf> {
    fs::write(path, "").with_context(|| format!("creating {}", path.display()))?;
    for user in users {
        broker::auth::password_file::set_user(path, user, password_of(user).as_bytes())
            .with_context(|| format!("adding {user} to {}", path.display()))?;
    }
    check_scheme(path, users.len(), "$argon2id$")?;
    Ok(path.to_path_buf())
}

/// Every one of the `expected` lines is `user:PREFIX...`.
fn check_scheme(path: &Path, expected: usize, prefix: &str) -> Result<()> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() != expected {
        bail!(
            "{} holds {} users, expected {expected}",
            path.display(),
            lines.len()
        );
    }
    if let Some(line) = lines.iter().find(|l| {
        !l.split_once(':')
            .is_some_and(|(_, h)| h.starts_with(prefix))
    }) {
        let user = line.split_once(':').map_or("?", |(u, _)| u);
        bail!(
            "{}: user {user} is not hashed with {prefix}",
            path.display()
        );
    }
    Ok(())
}

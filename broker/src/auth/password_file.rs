//! The password file, in Mosquitto's format: one `user:hash` per line, blank lines and `#`
//! comments ignored. Reading reports every bad line at once; editing (for `hearth passwd`)
//! keeps the other lines as they were and replaces the file atomically.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::hash::{HashError, StoredHash};

/// Mode of a password file `set_user` creates: the owner writes, the broker's group reads.
pub const NEW_FILE_MODE: u32 = 0o640;

/// The longest user name MQTT can carry (a UTF-8 string with a 16-bit length).
const MAX_USER_LEN: usize = 65_535;

/// The users of a password file, in the file's order.
#[derive(Debug, Clone, Default)]
pub struct PasswordFile {
    users: Vec<(String, StoredHash)>,
    index: HashMap<String, usize>,
}

/// What is wrong with one line of a password file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based.
    pub line: usize,
    pub problem: LineProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LineProblem {
    #[error("no `:` between the user name and the password hash (expected `user:hash`)")]
    MissingColon,
    #[error("the user name before `:` is empty")]
    EmptyUser,
    #[error("user {user:?}: {why}")]
    BadUser { user: String, why: UserNameError },
    #[error("user {user:?}: {problem}")]
    Hash { user: String, problem: HashError },
    #[error("user {user:?} appears again (first on line {first_line}); keep one of the lines")]
    DuplicateUser { user: String, first_line: usize },
    #[error("the line is not UTF-8 text")]
    NotUtf8,
}

/// Why a name cannot be a user of a password file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UserNameError {
    #[error("the user name is empty")]
    Empty,
    #[error("a user name cannot contain `:` (it separates the name from the hash)")]
    Colon,
    #[error("a user name cannot contain control characters (tab, newline, ...)")]
    Control,
    #[error("a user name cannot start or end with a space (the file's readers strip them)")]
    EdgeSpace,
    #[error("a user name cannot start with `#` (the line would be a comment)")]
    Hash,
    #[error("a user name is at most {MAX_USER_LEN} bytes (MQTT's limit)")]
    TooLong,
}

#[derive(Debug, Error)]
pub enum PasswordFileError {
    #[error("{}", malformed(path.as_deref(), lines))]
    Malformed {
        path: Option<PathBuf>,
        lines: Vec<LineError>,
    },
    #[error("{path}: no such password file; run `hearth passwd {path} USER` to create it", path = .path.display())]
    Missing { path: PathBuf },
    #[error("{path}: permission denied reading the password file; the broker reads it as its own user (`hearth` on the Pi): `sudo chgrp hearth {path}` and `sudo chmod 640 {path}`", path = .path.display())]
    PermissionDenied { path: PathBuf },
    #[error("{path}: cannot {action}: {source}{hint}", path = .path.display(), hint = permission_hint(source))]
    Io {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
    #[error("{user:?}: {why}")]
    BadUser { user: String, why: UserNameError },
    #[error("{path}: there is no user {user:?} to delete", path = .path.display())]
    NoSuchUser { path: PathBuf, user: String },
    #[error("{path}: no such password file, so no user {user:?} to delete", path = .path.display())]
    NothingToDelete { path: PathBuf, user: String },
    #[error("{0}")]
    Hash(#[from] HashError),
}

/// What [`set_user`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOutcome {
    /// The file did not exist; it now holds this user only.
    Created,
    Added,
    /// The user's password was replaced.
    Changed,
}

impl PasswordFile {
    /// Reads a password file's text, or reports every malformed line.
    pub fn parse(text: &str) -> Result<PasswordFile, PasswordFileError> {
        Self::from_lines(text.split('\n').map(Ok), None)
    }

    /// Reads the file at `path`. The errors name the path and say what to do.
    pub fn load(path: &Path) -> Result<PasswordFile, PasswordFileError> {
        let bytes = fs::read(path).map_err(|e| read_error(path, e))?;
        Self::from_lines(
            bytes
                .split(|&b| b == b'\n')
                .map(|line| std::str::from_utf8(line).map_err(|_| ())),
            Some(path),
        )
    }

    fn from_lines<'a>(
        lines: impl Iterator<Item = Result<&'a str, ()>>,
        path: Option<&Path>,
    ) -> Result<PasswordFile, PasswordFileError> {
        let mut file = PasswordFile::default();
        let mut errors = Vec::new();
        let mut first_line = HashMap::new();
        for (i, line) in lines.enumerate() {
            let number = i + 1;
            let problem = match line.map(parse_line) {
                Err(()) => LineProblem::NotUtf8,
                Ok(Line::Ignored) => continue,
                Ok(Line::Malformed(problem)) => problem,
                Ok(Line::Entry { user, hash }) => {
                    if let Some(&first_line) = first_line.get(user) {
                        LineProblem::DuplicateUser {
                            user: user.to_owned(),
                            first_line,
                        }
                    } else {
                        first_line.insert(user, number);
                        match hash {
                            Ok(hash) => {
                                file.index.insert(user.to_owned(), file.users.len());
                                file.users.push((user.to_owned(), hash));
                                continue;
                            }
                            Err(problem) => LineProblem::Hash {
                                user: user.to_owned(),
                                problem,
                            },
                        }
                    }
                }
            };
            errors.push(LineError {
                line: number,
                problem,
            });
        }
        if errors.is_empty() {
            Ok(file)
        } else {
            Err(PasswordFileError::Malformed {
                path: path.map(Path::to_owned),
                lines: errors,
            })
        }
    }

    /// User names, in the file's order.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.users.iter().map(|(user, _)| user.as_str())
    }

    /// Users with their hashes, in the file's order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &StoredHash)> {
        self.users.iter().map(|(user, hash)| (user.as_str(), hash))
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn get(&self, user: &str) -> Option<&StoredHash> {
        self.index.get(user).map(|&i| &self.users[i].1)
    }
}

/// Checks that `user` can be written to a password file and read back as the same name.
pub fn validate_user(user: &str) -> Result<(), UserNameError> {
    if user.is_empty() {
        Err(UserNameError::Empty)
    } else if user.contains(':') {
        Err(UserNameError::Colon)
    } else if user.chars().any(char::is_control) {
        Err(UserNameError::Control)
    } else if user.trim() != user {
        Err(UserNameError::EdgeSpace)
    } else if user.starts_with('#') {
        Err(UserNameError::Hash)
    } else if user.len() > MAX_USER_LEN {
        Err(UserNameError::TooLong)
    } else {
        Ok(())
    }
}

/// Adds `user` with an argon2id hash of `password`, or replaces the user's hash, keeping every
/// other line (comments included) in order. Creates the file (mode 0640) if it is missing.
///
/// Refuses to edit a file with malformed lines other than the user's own (which are
/// replaced), so a mistake elsewhere is fixed by hand rather than carried along.
pub fn set_user(path: &Path, user: &str, password: &[u8]) -> Result<SetOutcome, PasswordFileError> {
    check_user(user)?;
    let path = &resolve(path)?;
    let existing = read_existing(path)?;
    let line = format!("{user}:{}", StoredHash::new_argon2id(password)?.encode());
    let Some((text, metadata)) = existing else {
        write_atomically(path, format!("{line}\n").as_bytes(), None)?;
        return Ok(SetOutcome::Created);
    };
    let (mut kept, found) = edit(path, &text, user, Some(&line))?;
    if !found {
        if !kept.is_empty() && !kept.ends_with('\n') {
            kept.push('\n');
        }
        kept.push_str(&line);
        kept.push('\n');
    }
    write_atomically(path, kept.as_bytes(), Some(&metadata))?;
    Ok(if found {
        SetOutcome::Changed
    } else {
        SetOutcome::Added
    })
}

/// Removes `user`, keeping every other line in order. An error if the user (or the file) is
/// not there.
pub fn delete_user(path: &Path, user: &str) -> Result<(), PasswordFileError> {
    check_user(user)?;
    let path = &resolve(path)?;
    let Some((text, metadata)) = read_existing(path)? else {
        return Err(PasswordFileError::NothingToDelete {
            path: path.clone(),
            user: user.to_owned(),
        });
    };
    let (kept, found) = edit(path, &text, user, None)?;
    if !found {
        return Err(PasswordFileError::NoSuchUser {
            path: path.clone(),
            user: user.to_owned(),
        });
    }
    write_atomically(path, kept.as_bytes(), Some(&metadata))
}

enum Line<'a> {
    Ignored,
    Entry {
        user: &'a str,
        hash: Result<StoredHash, HashError>,
    },
    Malformed(LineProblem),
}

/// One line, as Mosquitto reads it: blanks around the name and the hash are stripped, and a
/// trailing `\r` and a leading byte-order mark (a file edited on Windows) are too.
fn parse_line(line: &str) -> Line<'_> {
    let trimmed = line.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Line::Ignored;
    }
    let Some((user, hash)) = trimmed.split_once(':') else {
        return Line::Malformed(LineProblem::MissingColon);
    };
    let user = user.trim();
    if user.is_empty() {
        return Line::Malformed(LineProblem::EmptyUser);
    }
    if let Err(why) = validate_user(user) {
        return Line::Malformed(LineProblem::BadUser {
            user: user.to_owned(),
            why,
        });
    }
    Line::Entry {
        user,
        hash: StoredHash::parse(hash.trim()),
    }
}

fn check_user(user: &str) -> Result<(), PasswordFileError> {
    validate_user(user).map_err(|why| PasswordFileError::BadUser {
        user: user.to_owned(),
        why,
    })
}

/// The lines of `text` with `user`'s first line replaced by `replacement` (or removed) and its
/// later duplicates removed; whether the user was there.
fn edit(
    path: &Path,
    text: &str,
    user: &str,
    replacement: Option<&str>,
) -> Result<(String, bool), PasswordFileError> {
    let mut kept = String::with_capacity(text.len() + 200);
    let mut found = false;
    let mut errors = Vec::new();
    let mut seen = HashMap::new();
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let number = i + 1;
        match parse_line(raw) {
            Line::Entry { user: u, .. } if u == user => {
                if let (false, Some(replacement)) = (found, replacement) {
                    kept.push_str(replacement);
                    kept.push('\n');
                }
                found = true;
                continue;
            }
            Line::Entry { user: u, hash } => {
                if let Some(&first_line) = seen.get(u) {
                    errors.push(LineError {
                        line: number,
                        problem: LineProblem::DuplicateUser {
                            user: u.to_owned(),
                            first_line,
                        },
                    });
                }
                seen.insert(u, number);
                if let Err(problem) = hash {
                    errors.push(LineError {
                        line: number,
                        problem: LineProblem::Hash {
                            user: u.to_owned(),
                            problem,
                        },
                    });
                }
            }
            Line::Malformed(problem) => errors.push(LineError {
                line: number,
                problem,
            }),
            Line::Ignored => {}
        }
        kept.push_str(raw);
    }
    if errors.is_empty() {
        Ok((kept, found))
    } else {
        Err(PasswordFileError::Malformed {
            path: Some(path.to_owned()),
            lines: errors,
        })
    }
}

/// Edits go to the file a symbolic link points at, so the link stays a link.
fn resolve(path: &Path) -> Result<PathBuf, PasswordFileError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(|source| PasswordFileError::Io {
                path: path.to_owned(),
                action: "follow the symbolic link",
                source,
            })
        }
        _ => Ok(path.to_owned()),
    }
}

fn read_existing(path: &Path) -> Result<Option<(String, fs::Metadata)>, PasswordFileError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        // Not `read_error`: its advice is for the broker, and this is whoever edits the file.
        Err(source) => {
            return Err(PasswordFileError::Io {
                path: path.to_owned(),
                action: "read the password file",
                source,
            })
        }
    };
    let metadata = fs::metadata(path).map_err(|source| PasswordFileError::Io {
        path: path.to_owned(),
        action: "read the password file's permissions",
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        PasswordFileError::Malformed {
            path: Some(path.to_owned()),
            lines: vec![LineError {
                line,
                problem: LineProblem::NotUtf8,
            }],
        }
    })?;
    Ok(Some((text, metadata)))
}

fn read_error(path: &Path, e: io::Error) -> PasswordFileError {
    let path = path.to_owned();
    match e.kind() {
        io::ErrorKind::NotFound => PasswordFileError::Missing { path },
        io::ErrorKind::PermissionDenied => PasswordFileError::PermissionDenied { path },
        _ => PasswordFileError::Io {
            path,
            action: "read the password file",
            source: e,
        },
    }
}

/// Writes a temporary file beside `path` (same permissions and owner as the file it replaces,
/// or [`NEW_FILE_MODE`]), flushes it to disk and renames it over `path`, so a reader sees the
/// old file or the new one, never half of one, even after a power cut.
fn write_atomically(
    path: &Path,
    bytes: &[u8],
    replacing: Option<&fs::Metadata>,
) -> Result<(), PasswordFileError> {
    let io_error = |action: &'static str| {
        move |source| PasswordFileError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    };
    let name = path.file_name().ok_or_else(|| PasswordFileError::Io {
        path: path.to_owned(),
        action: "write the password file",
        source: io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let mode = replacing.map_or(NEW_FILE_MODE, |m| m.mode() & 0o7777);

    let written = (|| {
        // A leftover from an editor that was killed: ours by its name, so safe to replace.
        let _ = fs::remove_file(&tmp);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(io_error("create a temporary file beside it"))?;
        // The mode asked for at creation is narrowed by the umask: set it exactly.
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(io_error("set the new file's permissions"))?;
        if let Some(old) = replacing {
            keep_owner(&file, old).map_err(io_error(
                "keep the file's owner and group (edit it as its owner or as root)",
            ))?;
        }
        file.write_all(bytes)
            .map_err(io_error("write the password file"))?;
        file.sync_all()
            .map_err(io_error("flush the password file to disk"))?;
        fs::rename(&tmp, path).map_err(io_error("replace the password file"))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
        return written;
    }
    // The rename itself reaches the disk when the directory does.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("flush the directory to disk"))
}

fn keep_owner(file: &File, old: &fs::Metadata) -> io::Result<()> {
    let new = file.metadata()?;
    if (new.uid(), new.gid()) == (old.uid(), old.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()))
}

fn permission_hint(e: &io::Error) -> &'static str {
    if e.kind() == io::ErrorKind::PermissionDenied {
        "; edit it as the user who owns it, or with sudo"
    } else {
        ""
    }
}

fn malformed(path: Option<&Path>, lines: &[LineError]) -> String {
    let mut out = match path {
        Some(path) => format!("{}: ", path.display()),
        None => String::new(),
    };
    match lines.len() {
        1 => out.push_str("1 error in the password file:"),
        n => out.push_str(&format!("{n} errors in the password file:")),
    }
    for error in lines {
        out.push_str(&format!("\n  {error}"));
    }
    out
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

#[cfg(test)]
mod tests;

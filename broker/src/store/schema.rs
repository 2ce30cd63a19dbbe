//! The store's file: opening it in WAL mode, creating its tables or upgrading those an
//! earlier Hearth made, and setting aside a file that cannot be read so the broker starts
//! with an empty state instead of failing.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use log::info;
use rusqlite::{Connection, ErrorCode, OpenFlags};

/// The layout this build writes, in `PRAGMA user_version`: the first one and each migration
/// after it. A file with a larger number was written by a newer Hearth.
pub(crate) const SCHEMA_VERSION: i64 = 1 + MIGRATIONS.len() as i64;

/// The first layout (store version 1, MQTT 3.1.1 only). A new file starts as this and goes
/// through every migration, so a new file and an upgraded one cannot differ.
///
/// One table per kind of state. `WITHOUT ROWID` keeps each table one b-tree, so an update
/// writes the pages of one tree, not a table and an index (fewer bytes on the SD card).
const TABLES: &str = "
CREATE TABLE IF NOT EXISTS retained (
    topic TEXT PRIMARY KEY,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    client_id TEXT PRIMARY KEY,
    username TEXT,
    -- Seconds since the Unix epoch its client went away; NULL while connected.
    offline_since INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriptions (
    client_id TEXT NOT NULL,
    filter TEXT NOT NULL,
    qos INTEGER NOT NULL,
    PRIMARY KEY (client_id, filter)
) WITHOUT ROWID;
-- Messages held for a session: queued (pkid NULL) or in flight with their packet id;
-- released = 1 once PUBREC came (a QoS 2 message waiting for PUBCOMP, payload dropped).
CREATE TABLE IF NOT EXISTS messages (
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    pkid INTEGER,
    released INTEGER NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    from_retained INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (client_id, seq)
) WITHOUT ROWID;
-- QoS 2 packet ids a client sent and has not released with PUBREL yet.
CREATE TABLE IF NOT EXISTS incoming_qos2 (
    client_id TEXT NOT NULL,
    pkid INTEGER NOT NULL,
    PRIMARY KEY (client_id, pkid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";

/// `MIGRATIONS[n]` takes a file from store version `n + 1` to `n + 2`, in place and keeping
/// its rows. Only ever appended to: a released file is upgraded by the steps it lacks.
const MIGRATIONS: &[&str] = &[
    // 2: MQTT 5.0 sessions, subscription options and message properties.
    "
    -- Seconds the session outlives its connection (Session Expiry Interval, as granted);
    -- NULL: it never ends by itself (MQTT 3.1.1, or 0xFFFFFFFF), only by `session_expiry`.
    ALTER TABLE sessions ADD COLUMN expiry_interval INTEGER;
    ALTER TABLE subscriptions ADD COLUMN no_local INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE subscriptions ADD COLUMN retain_as_published INTEGER NOT NULL DEFAULT 0;
    -- 1 to 268,435,455; NULL: none.
    ALTER TABLE subscriptions ADD COLUMN subscription_identifier INTEGER;
    -- The PUBLISH properties that travel with it, in their wire form; NULL: none.
    ALTER TABLE messages ADD COLUMN properties BLOB;
    -- The Unix second its Message Expiry Interval runs out; NULL: never.
    ALTER TABLE messages ADD COLUMN expires_at INTEGER;
    ALTER TABLE retained ADD COLUMN properties BLOB;
    ALTER TABLE retained ADD COLUMN expires_at INTEGER;
    ",
];

/// Why the store could not be used; the broker then runs with its state in memory only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot write the broker's store {path}: {cause}; retained messages and sessions will not survive a restart until it can (check that the state directory exists, is writable by the hearth user and that its file system is not read-only or full)")]
    NotWritable { path: PathBuf, cause: String },
    #[error("the broker's store {path} failed: {cause}")]
    Failed { path: PathBuf, cause: String },
}

/// A file the broker could not read and renamed out of the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    pub path: PathBuf,
    pub renamed_to: PathBuf,
    pub why: String,
}

/// Opens (or creates) the store at `path`. A file that is not a database, is corrupt or was
/// written by a newer version is renamed aside (reported in the second value) and a new one
/// is made; a file that cannot be written is an error.
pub(crate) fn open(path: &Path) -> Result<(Connection, Option<SetAside>), StoreError> {
    match open_checked(path) {
        Ok(conn) => Ok((conn, None)),
        Err(Unusable::Unreadable(why)) => {
            let renamed_to = set_aside(path).map_err(|e| StoreError::NotWritable {
                path: path.to_path_buf(),
                cause: format!("it is unreadable ({why}) and could not be renamed: {e}"),
            })?;
            let conn = open_checked(path).map_err(|e| e.into_error(path))?;
            Ok((
                conn,
                Some(SetAside {
                    path: path.to_path_buf(),
                    renamed_to,
                    why,
                }),
            ))
        }
        Err(other) => Err(other.into_error(path)),
    }
}

/// Whether the file at `path` was unusable because of its content (set it aside) or because
/// of where it lives (report it).
pub(crate) enum Unusable {
    Unreadable(String),
    NotWritable(String),
}

impl Unusable {
    fn into_error(self, path: &Path) -> StoreError {
        match self {
            Unusable::Unreadable(cause) => StoreError::Failed {
                path: path.to_path_buf(),
                cause,
            },
            Unusable::NotWritable(cause) => StoreError::NotWritable {
                path: path.to_path_buf(),
                cause,
            },
        }
    }
}

/// Sorts an SQLite error into content (corrupt, not a database) or environment.
pub(crate) fn classify(e: &rusqlite::Error) -> Unusable {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            Unusable::Unreadable(e.to_string())
        }
        _ => Unusable::NotWritable(e.to_string()),
    }
}

fn open_checked(path: &Path) -> Result<Connection, Unusable> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| classify(&e))?;
    // Reading the header is the first thing that notices a file that is not a database.
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| classify(&e))?;
    if version > SCHEMA_VERSION {
        return Err(Unusable::Unreadable(format!(
            "it was written by a newer Hearth (store version {version}, this one reads up to {SCHEMA_VERSION}); upgrade Hearth again to use it"
        )));
    }
    // WAL: a commit appends to the log instead of rewriting pages in place, and readers
    // never block it. FULL: each commit is on the card when it returns, so "durable" means
    // it; the batching keeps that to one sync per commit interval.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(|e| classify(&e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Unusable::NotWritable(format!(
            "SQLite would not use a write-ahead log there (journal mode {mode})"
        )));
    }
    // Temporary tables in memory: the card should not get them.
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF; PRAGMA temp_store = MEMORY;",
    )
    .map_err(|e| classify(&e))?;
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .map_err(|e| classify(&e))?;
    if check != "ok" {
        return Err(Unusable::Unreadable(format!(
            "its integrity check failed: {check}"
        )));
    }
    if version < SCHEMA_VERSION {
        upgrade(&mut conn, version).map_err(|e| match classify(&e) {
            Unusable::Unreadable(why) => Unusable::Unreadable(why),
            Unusable::NotWritable(why) => Unusable::NotWritable(format!(
                "upgrading it from store version {version} to {SCHEMA_VERSION} failed: {why}"
            )),
        })?;
        if version > 0 {
            info!(
                "the broker's store {} was upgraded from store version {version} to {SCHEMA_VERSION}, its content kept",
                path.display()
            );
        }
    } else {
        // A write at start: a file that cannot be written shows now, not at the first commit.
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(|e| classify(&e))?;
    }
    Ok(conn)
}

/// Brings a file of store version `from` (0: new) to [`SCHEMA_VERSION`] in one transaction:
/// a power cut halfway leaves it as it was, to be upgraded at the next start.
fn upgrade(conn: &mut Connection, from: i64) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    if from == 0 {
        tx.execute_batch(TABLES)?;
    }
    let done = usize::try_from(from.max(1) - 1).unwrap_or(0);
    for migration in &MIGRATIONS[done..] {
        tx.execute_batch(migration)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()
}

/// Renames `path` (and its write-ahead log) to `<name>.unreadable-<seconds>`, so nothing is
/// deleted; the shared-memory index is only a cache and is removed.
pub(crate) fn set_aside(path: &Path) -> std::io::Result<PathBuf> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let renamed = with_suffix(path, &format!(".unreadable-{stamp}"));
    std::fs::rename(path, &renamed)?;
    let wal = with_suffix(path, "-wal");
    if wal.exists() {
        std::fs::rename(&wal, with_suffix(&renamed, "-wal"))?;
    }
    let _ = std::fs::remove_file(with_suffix(path, "-shm"));
    Ok(renamed)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

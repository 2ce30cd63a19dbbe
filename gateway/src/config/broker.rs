//! The `[broker]` table.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::acl;
use super::error::ErrorSink;
use super::listener;
use super::reader::TableReader;
use ::broker::auth::PasswordFile;
use ::broker::{BrokerSettings, ListenerSettings, PersistenceSettings};

/// The store's file in the state directory.
pub const STORE_FILE: &str = "broker.db";

/// How the broker keeps its state, before the state directory is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Persistence {
    pub enabled: bool,
    pub commit_interval: std::time::Duration,
    pub durable_acks: bool,
    pub max_bytes: u64,
}

impl Default for Persistence {
    fn default() -> Self {
        Self {
            enabled: true,
            // What a power cut can lose; one sync a second is nothing to an SD card.
            commit_interval: std::time::Duration::from_secs(1),
            durable_acks: false,
            // A small share of even an 8 GB card, and far beyond what a home's broker holds.
            max_bytes: 64_000_000,
        }
    }
}

impl Persistence {
    /// The store in `state_dir`, if persistence is on and there is a state directory.
    pub(crate) fn in_dir(&self, state_dir: Option<&Path>) -> Option<PersistenceSettings> {
        let dir = state_dir.filter(|_| self.enabled)?;
        Some(PersistenceSettings {
            path: dir.join(STORE_FILE),
            commit_interval: self.commit_interval,
            durable_acks: self.durable_acks,
            max_bytes: usize::try_from(self.max_bytes).unwrap_or(usize::MAX),
        })
    }
}

pub(crate) fn read(
    table: Option<TableReader>,
    errs: &mut ErrorSink,
) -> (BrokerSettings, Persistence) {
    let mut settings = BrokerSettings::default();
    let mut persistence = Persistence::default();
    let Some(mut t) = table else {
        return (settings, persistence);
    };
    if let Some((path, span)) = t.string(errs, "password_file") {
        // Read now, so `hearth check` names a missing or malformed file (and its lines).
        if let Err(e) = PasswordFile::load(Path::new(path)) {
            errs.report(&t.key_path("password_file"), span, e.to_string());
        }
        settings.password_file = Some(PathBuf::from(path));
    }
    let ctx = listener::Context {
        has_users: settings.password_file.is_some(),
    };
    // `listen` is the short form of one plain listener; the default listener is there only
    // when neither form is used.
    let mut listeners = Vec::new();
    let listen_span = t.span_of("listen");
    let listen: Option<SocketAddr> =
        t.parsed(errs, "listen", "an address with a port", "127.0.0.1:1883");
    if let Some(addr) = listen {
        let mut only = ListenerSettings::tcp(addr);
        only.allow_anonymous = addr.ip().is_loopback() && !ctx.has_users;
        if !addr.ip().is_loopback() && !ctx.has_users {
            errs.report(
                &t.key_path("listen"),
                listen_span.clone(),
                format!(
                    "listens on {addr}, beyond this machine, with no users: anyone on the \
                     network could read every reading and switch every relay. Add a user \
                     (`hearth passwd /etc/hearth/passwd NAME`, then `password_file = \
                     \"/etc/hearth/passwd\"` in [broker]), or use a [[broker.listener]] with \
                     `allow_anonymous = true` to open it without passwords anyway"
                ),
            );
        }
        listeners.push(listener::Read {
            settings: only,
            path: t.key_path("listen"),
            addr_span: listen_span,
        });
    }
    for table in t.array_of_tables(errs, "listener") {
        listeners.extend(listener::read(table, &ctx, errs));
    }
    listener::check_all(&listeners, errs);
    settings.acl = acl::read_all(t.array_of_tables(errs, "acl"), errs);
    if !listeners.is_empty() {
        settings.listeners = listeners.into_iter().map(|l| l.settings).collect();
    } else if ctx.has_users {
        // The default loopback listener asks for passwords once users exist.
        for l in &mut settings.listeners {
            l.allow_anonymous = false;
        }
    }
    // The smallest useful packet holds a CONNECT with a short client id and a will.
    if let Some(n) = t.integer(errs, "max_packet_size", 128..=268_435_455) {
        settings.max_packet_size = n;
    }
    if let Some(n) = t.integer(errs, "max_inflight", 1..=65_535) {
        settings.max_inflight = n;
    }
    if let Some(n) = t.integer(errs, "max_queued_messages", 0..=10_000_000) {
        settings.max_queued_messages = n;
    }
    if let Some(d) = t.duration(errs, "connect_timeout") {
        settings.connect_timeout = d;
    }
    if let Some(d) = t.duration(errs, "sys_interval") {
        settings.sys_interval = d;
    }
    if let Some(n) = t.integer(errs, "max_clients", 1..=1_000_000) {
        settings.max_clients = n;
    }
    read_limits(&mut t, errs, &mut settings);
    read_persistence(&mut t, errs, &mut settings, &mut persistence);
    t.finish(errs);
    (settings, persistence)
}

fn read_persistence(
    t: &mut TableReader,
    errs: &mut ErrorSink,
    settings: &mut BrokerSettings,
    persistence: &mut Persistence,
) {
    if let Some(b) = t.boolean(errs, "persistence") {
        persistence.enabled = b;
    }
    let span = t.span_of("commit_interval");
    if let Some(d) = t.duration(errs, "commit_interval") {
        if d < std::time::Duration::from_millis(10) || d > std::time::Duration::from_secs(3600) {
            errs.report(
                &t.key_path("commit_interval"),
                span,
                "must be between \"10ms\" and \"1h\": it is the longest a change waits before it is on the card (what a power cut can lose)",
            );
        } else {
            persistence.commit_interval = d;
        }
    }
    if let Some(b) = t.boolean(errs, "durable_acks") {
        persistence.durable_acks = b;
    }
    if let Some(n) = t.size(errs, "max_store_size", 100_000..=1_000_000_000_000) {
        persistence.max_bytes = n;
    }
    if let Some((text, span)) = t.string(errs, "session_expiry") {
        if text == "never" {
            settings.session_expiry = None;
        } else {
            match humantime::parse_duration(text) {
                Ok(d) if d >= std::time::Duration::from_secs(60) => settings.session_expiry = Some(d),
                _ => errs.report(
                    &t.key_path("session_expiry"),
                    span,
                    "must be a duration of at least a minute, like \"30d\" or \"12h\", or \"never\"",
                ),
            }
        }
    }
}

/// The per-address, topic and retained limits; 0 turns a per-address limit off.
fn read_limits(t: &mut TableReader, errs: &mut ErrorSink, settings: &mut BrokerSettings) {
    if let Some(n) = t.integer(errs, "max_connections_per_address", 0..=1_000_000) {
        settings.max_connections_per_address = n;
    }
    if let Some(n) = t.integer(errs, "max_connects_per_address_per_second", 0..=1_000_000) {
        settings.max_connects_per_address_per_second = n;
    }
    if let Some(n) = t.integer(errs, "max_connect_burst_per_address", 1..=1_000_000) {
        settings.max_connect_burst_per_address = n;
    }
    if let Some(b) = t.boolean(errs, "limit_loopback") {
        settings.limit_loopback = b;
    }
    // A topic is at most 65,535 bytes, and so at most 65,536 levels.
    if let Some(n) = t.integer(errs, "max_topic_length", 1..=65_535) {
        settings.max_topic_length = n;
    }
    if let Some(n) = t.integer(errs, "max_topic_levels", 1..=65_536) {
        settings.max_topic_levels = n;
    }
    if let Some(n) = t.integer(errs, "max_retained_messages", 0..=100_000_000) {
        settings.max_retained_messages = n;
    }
}

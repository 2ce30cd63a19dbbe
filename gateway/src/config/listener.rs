//! `[[broker.listener]]` tables: where the broker listens and how (tcp, ws, tls, wss), and the
//! secure default: a listener reachable beyond this machine needs users or an explicit
//! `allow_anonymous = true`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;

use super::error::{excerpt, ErrorSink};
use super::reader::TableReader;
use ::broker::transport::tls::{self, TlsError};
use ::broker::{ListenerKind, ListenerSettings, TlsSettings, DEFAULT_WS_PATH};

/// What the listener checks need to know of the rest of `[broker]`.
pub(crate) struct Context {
    /// Whether `password_file` is set: clients can then authenticate.
    pub has_users: bool,
}

/// A listener read from the file, with where it was, for the checks across listeners.
pub(crate) struct Read {
    pub settings: ListenerSettings,
    pub path: String,
    pub addr_span: Range<usize>,
}

const KINDS: &str = "\"tcp\", \"ws\", \"tls\" or \"wss\"";

pub(crate) fn read(mut t: TableReader, ctx: &Context, errs: &mut ErrorSink) -> Option<Read> {
    let kind_word = match t.string(errs, "kind") {
        None => "tcp",
        Some((word @ ("tcp" | "ws" | "tls" | "wss"), _)) => word,
        Some((other, span)) => {
            errs.report(
                &t.key_path("kind"),
                span,
                format!("unknown listener kind \"{}\"; use {KINDS}", excerpt(other)),
            );
            t.accept(&LISTENER_KEYS);
            t.finish(errs);
            return None;
        }
    };
    let addr_span = t.span_of("address");
    let addr: Option<SocketAddr> = if t.has("address") {
        t.parsed(
            errs,
            "address",
            "an address with a port",
            example(kind_word),
        )
    } else {
        t.accept(&["address"]);
        errs.report(
            &t.key_path("address"),
            t.span(),
            format!(
                "missing; every [[broker.listener]] needs an `address`, such as \"{}\"",
                example(kind_word)
            ),
        );
        None
    };
    let name = t.string(errs, "name").map(|(n, _)| n.to_string());
    let explicit_anonymous = t.boolean(errs, "allow_anonymous");
    let path = if matches!(kind_word, "ws" | "wss") {
        read_path(&mut t, errs)
    } else {
        String::new()
    };
    let tls = if matches!(kind_word, "tls" | "wss") {
        read_tls(&mut t, errs)
    } else {
        None
    };
    let path_of = t.path().to_string();
    let table_span = t.span();
    t.finish(errs);

    let addr = addr?;
    let kind = match kind_word {
        "tcp" => ListenerKind::Tcp,
        "ws" => ListenerKind::Ws { path },
        "tls" => ListenerKind::Tls(tls?),
        _ => ListenerKind::Wss { path, tls: tls? },
    };
    // A client certificate the broker requires is an authentication of its own.
    let certificates_required = match &kind {
        ListenerKind::Tls(tls) | ListenerKind::Wss { tls, .. } => tls.require_client_cert,
        _ => false,
    };
    // A client that passed a required certificate check is known, user name or not.
    let allow_anonymous = explicit_anonymous
        .unwrap_or((addr.ip().is_loopback() && !ctx.has_users) || certificates_required);
    if !addr.ip().is_loopback()
        && !ctx.has_users
        && !certificates_required
        && explicit_anonymous != Some(true)
    {
        errs.report(
            &path_of,
            table_span,
            format!(
                "listens on {addr}, beyond this machine, with no users: anyone on the network \
                 could read every reading and switch every relay. Add a user \
                 (`hearth passwd /etc/hearth/passwd NAME`, then `password_file = \
                 \"/etc/hearth/passwd\"` in [broker]), or set `allow_anonymous = true` on this \
                 listener to open it without passwords anyway"
            ),
        );
    }
    let name = name.unwrap_or_else(|| format!("{kind_word}:{}", addr.port()));
    Some(Read {
        settings: ListenerSettings {
            name,
            addr,
            kind,
            allow_anonymous,
        },
        path: path_of,
        addr_span,
    })
}

const LISTENER_KEYS: [&str; 10] = [
    "name",
    "address",
    "allow_anonymous",
    "path",
    "cert_file",
    "key_file",
    "client_ca_file",
    "require_client_certificate",
    "use_identity_as_username",
    "kind",
];

fn example(kind: &str) -> &'static str {
    match kind {
        "ws" => "0.0.0.0:9001",
        "tls" => "0.0.0.0:8883",
        "wss" => "0.0.0.0:9443",
        _ => "0.0.0.0:1883",
    }
}

fn read_path(t: &mut TableReader, errs: &mut ErrorSink) -> String {
    match t.string(errs, "path") {
        None => DEFAULT_WS_PATH.to_string(),
        Some((p, _)) if p.starts_with('/') && !p.contains(char::is_whitespace) => p.to_string(),
        Some((p, span)) => {
            errs.report(
                &t.key_path("path"),
                span,
                format!(
                    "\"{}\" is not an HTTP path; write it like \"{DEFAULT_WS_PATH}\"",
                    excerpt(p)
                ),
            );
            DEFAULT_WS_PATH.to_string()
        }
    }
}

fn read_tls(t: &mut TableReader, errs: &mut ErrorSink) -> Option<TlsSettings> {
    let cert = t.required_string(errs, "cert_file", "tls or wss listener");
    let key = t.required_string(errs, "key_file", "tls or wss listener");
    let ca = t.string(errs, "client_ca_file");
    let require = t.boolean(errs, "require_client_certificate");
    let identity = t.boolean(errs, "use_identity_as_username");
    if ca.is_none() {
        for (key, value) in [
            ("require_client_certificate", require),
            ("use_identity_as_username", identity),
        ] {
            if value == Some(true) {
                errs.report(
                    &t.key_path(key),
                    t.span_of(key),
                    "needs `client_ca_file`, the CA that client certificates are checked against",
                );
            }
        }
    }
    let (cert, cert_span) = cert?;
    let (key, key_span) = key?;
    let ca_span = ca.as_ref().map(|(_, span)| span.clone());
    let settings = TlsSettings {
        cert_file: PathBuf::from(cert),
        key_file: PathBuf::from(key),
        client_ca_file: ca.map(|(p, _)| PathBuf::from(p)),
        require_client_cert: require.unwrap_or(false),
        identity_as_username: identity.unwrap_or(false),
    };
    // Loaded now, so `hearth check` finds an unreadable file or a key that is not the
    // certificate's before the broker is asked to start with them.
    if let Err(e) = tls::load(&settings) {
        // The line of the key the error is about, so the report points at the file to fix.
        let key = tls_error_key(&e);
        let span = match key {
            "key_file" => key_span,
            "client_ca_file" => ca_span.unwrap_or(cert_span),
            _ => cert_span,
        };
        errs.report(&t.key_path(key), span, e.to_string());
    }
    Some(settings)
}

/// The key the error is about, for its path in the report.
fn tls_error_key(e: &TlsError) -> &'static str {
    match e {
        TlsError::Read { what, .. } if what.contains("key") => "key_file",
        TlsError::Read { what, .. } if what.contains("CA") => "client_ca_file",
        TlsError::NoKey { .. } | TlsError::UnsupportedKey { .. } | TlsError::KeyMismatch { .. } => {
            "key_file"
        }
        TlsError::NoClientCa { .. } | TlsError::BadClientCa { .. } => "client_ca_file",
        _ => "cert_file",
    }
}

/// Checks across listeners: names and ports used once (two listeners on one port cannot both
/// bind, whatever their addresses). Port 0 asks the system for a free port each time, so
/// listeners on port 0 never share one.
pub(crate) fn check_all(listeners: &[Read], errs: &mut ErrorSink) {
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut ports: Vec<&Read> = Vec::new();
    for l in listeners {
        let clash = ports.iter().find(|other| {
            let (a, b) = (other.settings.addr, l.settings.addr);
            a.port() == b.port()
                && a.port() != 0
                && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
        });
        if let Some(other) = clash {
            // Reported once: listeners on one port also share a default name.
            errs.report(
                &format!("{}.address", l.path),
                l.addr_span.clone(),
                format!(
                    "{} overlaps {} of {}: two listeners cannot share a port",
                    l.settings.addr, other.settings.addr, other.path
                ),
            );
            continue;
        }
        ports.push(l);
        if let Some(first) = names.insert(&l.settings.name, &l.path) {
            errs.report(
                &format!("{}.name", l.path),
                l.addr_span.clone(),
                format!(
                    "listener name \"{}\" is already used by {first}; give each listener its own",
                    excerpt(&l.settings.name)
                ),
            );
        }
    }
}

//! TLS for the `tls` and `wss` listeners through rustls (ring): loading the PEM certificate
//! chain and key with errors that say what to fix, optional client certificates verified
//! against a CA (whose Common Name can become the MQTT user name), and an acceptor that is
//! reloaded for new connections while existing ones keep their session.
//!
//! Loading reads small files synchronously: call [`load`] and [`TlsAcceptorCell::reload`] at
//! start-up or from `spawn_blocking`, not on a busy async task.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::server::{ServerConnection, VerifierBuilderError, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{InconsistentKeys, RootCertStore, ServerConfig};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;
use tokio_rustls::TlsAcceptor;

pub use crate::settings::TlsSettings;

/// Why a TLS configuration could not be loaded. Key material never appears in a message.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read the {what} {}: {cause}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    #[error("{}: not valid PEM ({detail}); expected -----BEGIN ...----- / -----END ...----- sections", path.display())]
    Pem { path: PathBuf, detail: &'static str },
    #[error("{}: no certificate found; the certificate file must hold the PEM certificate chain, leaf first (for Let's Encrypt, fullchain.pem){hint}", path.display())]
    NoCertificate { path: PathBuf, hint: &'static str },
    #[error("{}: the certificate is not valid X.509 ({detail})", path.display())]
    BadCertificate { path: PathBuf, detail: String },
    #[error("{}: no private key found; the key file must hold an unencrypted PEM private key (for Let's Encrypt, privkey.pem){hint}", path.display())]
    NoKey { path: PathBuf, hint: &'static str },
    #[error("{}: unsupported private key ({detail}); use an RSA (2048 bits or more), ECDSA P-256/P-384 or Ed25519 key", path.display())]
    UnsupportedKey { path: PathBuf, detail: String },
    #[error("the private key in {} does not match the certificate in {}; use the key the certificate was issued for (for Let's Encrypt, privkey.pem from the same directory as fullchain.pem)", key.display(), cert.display())]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("{}: no CA certificate found; the client CA file must hold the PEM certificate(s) of the CA that signs client certificates", path.display())]
    NoClientCa { path: PathBuf },
    #[error("{}: CA certificate number {index} cannot verify client certificates ({detail})", path.display())]
    BadClientCa {
        path: PathBuf,
        index: usize,
        detail: String,
    },
    #[error("{setting} needs client_ca_file: a client certificate is only trusted once verified against a CA")]
    NeedsClientCa { setting: &'static str },
    #[error("client certificate verification: {0}")]
    ClientVerifier(VerifierBuilderError),
    #[error("TLS configuration: {0}")]
    Rustls(rustls::Error),
}

/// Builds the server configuration: TLS 1.2 and 1.3, ring's cipher suites, no ALPN (MQTT
/// needs none, and a client offering an unknown ALPN would otherwise be refused).
pub fn load(settings: &TlsSettings) -> Result<Arc<ServerConfig>, TlsError> {
    if settings.client_ca_file.is_none() {
        if settings.require_client_cert {
            return Err(TlsError::NeedsClientCa {
                setting: "require_client_cert",
            });
        }
        if settings.identity_as_username {
            return Err(TlsError::NeedsClientCa {
                setting: "identity_as_username",
            });
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = read_chain(&settings.cert_file)?;
    let key = read_key(&settings.key_file)?;
    check_pair(&provider, settings, &chain, &key)?;

    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Rustls)?;
    let builder = match &settings.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let roots = read_client_ca(path)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if settings.require_client_cert {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder.with_client_cert_verifier(verifier.build().map_err(TlsError::ClientVerifier)?)
        }
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(TlsError::Rustls)?;
    Ok(Arc::new(config))
}

/// The verified client certificate's subject Common Name (the first one, as Mosquitto's
/// `use_identity_as_username` takes it). `None` without a client certificate, or when the
/// name is missing, not text, or contains NUL (not allowed in an MQTT user name). rustls keeps
/// the peer's chain only once its verifier accepted it, so the name is trusted.
pub fn peer_identity(conn: &ServerConnection) -> Option<String> {
    common_name(conn.peer_certificates()?.first()?)
}

/// The server configuration in use, swapped on reload: a new connection gets the current one,
/// an established connection keeps the session it has.
pub struct TlsAcceptorCell {
    current: RwLock<Arc<ServerConfig>>,
}

impl TlsAcceptorCell {
    pub fn new(settings: &TlsSettings) -> Result<TlsAcceptorCell, TlsError> {
        Ok(TlsAcceptorCell::from_config(load(settings)?))
    }

    pub fn from_config(config: Arc<ServerConfig>) -> TlsAcceptorCell {
        TlsAcceptorCell {
            current: RwLock::new(config),
        }
    }

    /// Loads `settings` again (a renewed certificate, say); on error the current one stays.
    pub fn reload(&self, settings: &TlsSettings) -> Result<(), TlsError> {
        let config = load(settings)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = config;
        Ok(())
    }

    /// Puts a configuration loaded beforehand (with [`load`]) in force for new connections.
    pub fn set(&self, config: Arc<ServerConfig>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = config;
    }

    /// An acceptor for one new connection.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

impl std::fmt::Debug for TlsAcceptorCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsAcceptorCell").finish_non_exhaustive()
    }
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|cause| TlsError::Read {
        what,
        path: path.to_path_buf(),
        cause,
    })
}

/// A short description of a PEM syntax error, without quoting the file (it may be a key).
fn pem_error(path: &Path, e: pem::Error) -> TlsError {
    let detail = match e {
        pem::Error::MissingSectionEnd { .. } => "a section has no END line",
        pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed",
        pem::Error::Base64Decode(_) => "a section is not valid base64",
        pem::Error::SectionTooLarge => "a section is too large",
        _ => "unreadable",
    };
    TlsError::Pem {
        path: path.to_path_buf(),
        detail,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let text = read_file("certificate file", path)?;
    let chain = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
            hint: if contains(&text, b"PRIVATE KEY-----") {
                "; this file holds a private key: are the certificate and key files swapped?"
            } else {
                ""
            },
        });
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let text = read_file("private key file", path)?;
    PrivateKeyDer::from_pem_slice(&text).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.to_path_buf(),
            hint: if contains(&text, b"-----BEGIN ENCRYPTED PRIVATE KEY-----") {
                "; this key is encrypted: decrypt it with `openssl pkey -in KEY -out KEY.plain` and protect the file with its permissions instead"
            } else if contains(&text, b"-----BEGIN CERTIFICATE-----") {
                "; this file holds a certificate: are the certificate and key files swapped?"
            } else {
                ""
            },
        },
        other => pem_error(path, other),
    })
}

/// Checks the key is usable and belongs to the leaf certificate, so each failure gets its own
/// message (rustls' `with_single_cert` checks the same but says less).
fn check_pair(
    provider: &CryptoProvider,
    settings: &TlsSettings,
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
) -> Result<(), TlsError> {
    let signing_key = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| TlsError::UnsupportedKey {
            path: settings.key_file.clone(),
            detail: e.to_string(),
        })?;
    match CertifiedKey::new(chain.to_vec(), signing_key).keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => Ok(()),
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            Err(TlsError::KeyMismatch {
                cert: settings.cert_file.clone(),
                key: settings.key_file.clone(),
            })
        }
        Err(rustls::Error::InvalidCertificate(e)) => Err(TlsError::BadCertificate {
            path: settings.cert_file.clone(),
            detail: format!("{e:?}"),
        }),
        Err(e) => Err(TlsError::Rustls(e)),
    }
}

fn read_client_ca(path: &Path) -> Result<RootCertStore, TlsError> {
    let text = read_file("client CA file", path)?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(TlsError::NoClientCa {
            path: path.to_path_buf(),
        });
    }
    let mut roots = RootCertStore::empty();
    for (i, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| TlsError::BadClientCa {
            path: path.to_path_buf(),
            index: i + 1,
            detail: e.to_string(),
        })?;
    }
    Ok(roots)
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const EXPLICIT_0: u8 = 0xa0;
/// id-at-commonName, 2.5.4.3.
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// The first subject Common Name in a DER certificate, by a minimal walk of
/// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
/// signature, issuer, validity, subject Name, ... }, ... }.
fn common_name(cert: &[u8]) -> Option<String> {
    let (cert, _) = expect(cert, SEQUENCE)?;
    let (tbs, _) = expect(cert, SEQUENCE)?;
    let mut fields = tbs;
    if fields.first() == Some(&EXPLICIT_0) {
        fields = tlv(fields)?.2;
    }
    for _ in 0..4 {
        fields = tlv(fields)?.2;
    }
    // Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }
    let (mut names, _) = expect(fields, SEQUENCE)?;
    while !names.is_empty() {
        let (mut set, next) = expect(names, SET)?;
        names = next;
        while !set.is_empty() {
            let (attribute, next) = expect(set, SEQUENCE)?;
            set = next;
            let (oid, value) = expect(attribute, OID)?;
            if oid == COMMON_NAME {
                let (tag, text, _) = tlv(value)?;
                return directory_string(tag, text).filter(|name| !name.contains('\0'));
            }
        }
    }
    None
}

/// One DER element: (tag, contents, the bytes after it).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tags do not occur in these structures
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |len, &b| len << 8 | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The contents of an element with tag `want`, and the bytes after it.
fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, contents, rest) = tlv(input)?;
    (tag == want).then_some((contents, rest))
}

/// DirectoryString and the ASCII string types a CN may use.
fn directory_string(tag: u8, bytes: &[u8]) -> Option<String> {
    const UTF8: u8 = 0x0c;
    const PRINTABLE: u8 = 0x13;
    const TELETEX: u8 = 0x14;
    const IA5: u8 = 0x16;
    const UNIVERSAL: u8 = 0x1c;
    const BMP: u8 = 0x1e;
    match tag {
        UTF8 => String::from_utf8(bytes.to_vec()).ok(),
        // T.61 is only decoded when it is plain ASCII, which is how it is used in practice.
        PRINTABLE | IA5 | TELETEX if bytes.is_ascii() => String::from_utf8(bytes.to_vec()).ok(),
        BMP if bytes.len() % 2 == 0 => char::decode_utf16(
            bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        )
        .collect::<Result<String, _>>()
        .ok(),
        UNIVERSAL if bytes.len() % 4 == 0 => bytes
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

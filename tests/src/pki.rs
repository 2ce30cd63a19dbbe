//! Certificates made at test time with rcgen: a CA, a server certificate for 127.0.0.1 and
//! localhost, and client certificates with a Common Name, written as PEM files to a directory
//! that is removed when the test ends. Also the rustls client configurations that trust the CA.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

/// A directory of its own under the system's temp directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "hearth-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes (or replaces) `name` in the directory and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A certificate and its private key.
pub struct Leaf {
    pub der: CertificateDer<'static>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Leaf {
    fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).expect("rcgen key is PEM")
    }
}

/// A home CA with its files: `ca.pem`, and the broker's `server.pem` and `server.key`.
pub struct Pki {
    pub dir: TempDir,
    issuer: Issuer<'static, KeyPair>,
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The server certificate now in `cert_file`.
    pub server: Leaf,
    ca_der: CertificateDer<'static>,
}

impl Pki {
    /// A new CA and a server certificate (Common Name `hearth`) signed by it.
    pub fn new() -> Pki {
        let dir = TempDir::new("pki");
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Hearth test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = params.self_signed(&key).expect("self-signed CA");
        let ca_file = dir.write("ca.pem", &ca.pem());
        let ca_der = ca.der().clone();
        let issuer = Issuer::new(params, key);
        let server = server_leaf(&issuer, "hearth");
        let cert_file = dir.write("server.pem", &server.cert_pem);
        let key_file = dir.write("server.key", &server.key_pem);
        Pki {
            dir,
            issuer,
            ca_file,
            cert_file,
            key_file,
            server,
            ca_der,
        }
    }

    /// Writes a new server certificate (Common Name `common_name`, same CA) over `server.pem`
    /// and `server.key`, as a renewal would; returns the one it replaced.
    pub fn renew_server_certificate(&mut self, common_name: &str) -> Leaf {
        let new = server_leaf(&self.issuer, common_name);
        self.dir.write("server.pem", &new.cert_pem);
        self.dir.write("server.key", &new.key_pem);
        std::mem::replace(&mut self.server, new)
    }

    /// A client certificate with Common Name `common_name`, signed by the CA.
    pub fn client(&self, common_name: &str) -> Leaf {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Home");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        sign(&self.issuer, params)
    }

    /// Writes `leaf` as `<name>.pem` and `<name>.key` (for mosquitto's `--cert` and `--key`).
    pub fn write_client(&self, name: &str, leaf: &Leaf) -> (PathBuf, PathBuf) {
        (
            self.dir.write(&format!("{name}.pem"), &leaf.cert_pem),
            self.dir.write(&format!("{name}.key"), &leaf.key_pem),
        )
    }

    /// A rustls client (ring) that trusts this CA and presents `client`, if given.
    pub fn client_config(&self, client: Option<&Leaf>) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.ca_der.clone())
            .expect("CA is a trust anchor");
        let builder =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_root_certificates(roots);
        let config = match client {
            None => builder.with_no_client_auth(),
            Some(leaf) => builder
                .with_client_auth_cert(vec![leaf.der.clone()], leaf.key_der())
                .expect("client certificate and key"),
        };
        Arc::new(config)
    }

    /// A `[[broker.listener]]` table of `kind` (`tls` or `wss`) named `name` on 127.0.0.1 with
    /// port 0, serving this PKI's server certificate; `extra` holds more keys, one per line.
    pub fn listener(&self, name: &str, kind: &str, extra: &str) -> String {
        format!(
            "\n[[broker.listener]]\nname = \"{name}\"\nkind = \"{kind}\"\n\
             address = \"127.0.0.1:0\"\ncert_file = \"{}\"\nkey_file = \"{}\"\n{extra}\n",
            self.cert_file.display(),
            self.key_file.display(),
        )
    }

    /// The `client_ca_file = ...` line for this CA.
    pub fn client_ca_line(&self) -> String {
        format!("client_ca_file = \"{}\"", self.ca_file.display())
    }
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}

fn server_leaf(issuer: &Issuer<'static, KeyPair>, common_name: &str) -> Leaf {
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("server params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    sign(issuer, params)
}

fn sign(issuer: &Issuer<'static, KeyPair>, params: CertificateParams) -> Leaf {
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("sign leaf");
    Leaf {
        der: cert.der().clone(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

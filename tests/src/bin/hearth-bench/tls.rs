//! The TLS client configuration `run` uses against a broker that is already listening.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// A rustls client (ring) that trusts the CA certificates in the PEM file `ca`.
pub fn trusting_file(ca: &Path) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(ca)
        .with_context(|| format!("reading CA certificates from {}", ca.display()))?;
    for certificate in certificates {
        let certificate =
            certificate.with_context(|| format!("parsing a certificate in {}", ca.display()))?;
        roots
            .add(certificate)
            .with_context(|| format!("{}: not a CA certificate rustls accepts", ca.display()))?;
    }
    if roots.is_empty() {
        anyhow::bail!("{} holds no certificate", ca.display());
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

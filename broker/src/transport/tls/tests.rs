use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_rustls::{client, server, TlsConnector};

use super::*;
use crate::transport::sniff;

/// A directory removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "hearth-tls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA, and certificates it signs, generated for each test.
struct Pki {
    ca: Issuer<'static, KeyPair>,
    ca_der: CertificateDer<'static>,
    ca_pem: String,
}

struct Leaf {
    der: CertificateDer<'static>,
    cert_pem: String,
    key_pem: String,
}

impl Leaf {
    fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).unwrap()
    }
}

impl Pki {
    fn new(name: &str) -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Pki {
            ca_der: cert.der().clone(),
            ca_pem: cert.pem(),
            ca: Issuer::new(params, key),
        }
    }

    fn server(&self) -> Leaf {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "hearth");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params)
    }

    fn client(&self, common_name: impl Into<DnValue>) -> Leaf {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Home");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        Leaf {
            der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// Settings with the server certificate (and, if given, the client CA) written to `dir`.
fn settings(dir: &TempDir, leaf: &Leaf, client_ca: Option<&Pki>) -> TlsSettings {
    TlsSettings {
        cert_file: dir.write("server.pem", &leaf.cert_pem),
        key_file: dir.write("server.key", &leaf.key_pem),
        client_ca_file: client_ca.map(|ca| dir.write("client-ca.pem", &ca.ca_pem)),
        require_client_cert: false,
        identity_as_username: false,
    }
}

fn connector(ca: &Pki, client_cert: Option<&Leaf>) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(ca.ca_der.clone()).unwrap();
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    let config = match client_cert {
        Some(leaf) => builder
            .with_client_auth_cert(vec![leaf.der.clone()], leaf.key_der())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    TlsConnector::from(Arc::new(config))
}

type Handshake = (
    io::Result<server::TlsStream<DuplexStream>>,
    io::Result<client::TlsStream<DuplexStream>>,
);

async fn handshake(acceptor: TlsAcceptor, connector: &TlsConnector) -> Handshake {
    let (client_io, server_io) = duplex(64 * 1024);
    let name = ServerName::try_from("localhost").unwrap();
    tokio::join!(
        acceptor.accept(server_io),
        connector.connect(name, client_io)
    )
}

/// The leaf certificate the client was shown.
fn seen_by_client(client: &client::TlsStream<DuplexStream>) -> CertificateDer<'static> {
    client.get_ref().1.peer_certificates().unwrap()[0].clone()
}

async fn ping_pong(
    server: &mut server::TlsStream<DuplexStream>,
    client: &mut client::TlsStream<DuplexStream>,
) {
    client.write_all(b"\xc0\x00").await.unwrap();
    client.flush().await.unwrap();
    let mut got = [0; 2];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"\xc0\x00");
    server.write_all(b"\xd0\x00").await.unwrap();
    server.flush().await.unwrap();
    client.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"\xd0\x00");
}

#[tokio::test]
async fn handshake_and_bytes_flow() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let leaf = pki.server();
    let config = load(&settings(&dir, &leaf, None)).unwrap();
    let (server, client) = handshake(TlsAcceptor::from(config), &connector(&pki, None)).await;
    let (mut server, mut client) = (server.unwrap(), client.unwrap());
    assert_eq!(seen_by_client(&client), leaf.der);
    assert_eq!(peer_identity(server.get_ref().1), None);
    ping_pong(&mut server, &mut client).await;
}

#[tokio::test]
async fn client_certificate_common_name_is_the_identity() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let mut settings = settings(&dir, &pki.server(), Some(&pki));
    settings.require_client_cert = true;
    settings.identity_as_username = true;
    let client_cert = pki.client("kitchen-node");
    let (server, client) = handshake(
        TlsAcceptor::from(load(&settings).unwrap()),
        &connector(&pki, Some(&client_cert)),
    )
    .await;
    let (mut server, mut client) = (server.unwrap(), client.unwrap());
    assert_eq!(
        peer_identity(server.get_ref().1).as_deref(),
        Some("kitchen-node")
    );
    ping_pong(&mut server, &mut client).await;
}

#[tokio::test]
async fn client_without_certificate_allowed_unless_required() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let settings = settings(&dir, &pki.server(), Some(&pki));
    let (server, client) = handshake(
        TlsAcceptor::from(load(&settings).unwrap()),
        &connector(&pki, None),
    )
    .await;
    let (mut server, mut client) = (server.unwrap(), client.unwrap());
    assert_eq!(peer_identity(server.get_ref().1), None);
    ping_pong(&mut server, &mut client).await;
}

#[tokio::test]
async fn client_without_certificate_refused_when_required() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let mut settings = settings(&dir, &pki.server(), Some(&pki));
    settings.require_client_cert = true;
    let (server, client) = handshake(
        TlsAcceptor::from(load(&settings).unwrap()),
        &connector(&pki, None),
    )
    .await;
    let err = server.err().unwrap();
    assert!(err.to_string().contains("no certificates"), "{err}");
    // With TLS 1.3 the client learns of it from the alert that follows its Finished.
    if let Ok(mut client) = client {
        let mut buf = [0; 1];
        assert!(!matches!(client.read(&mut buf).await, Ok(1)));
    }
}

#[tokio::test]
async fn client_certificate_from_another_ca_refused() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let settings = settings(&dir, &pki.server(), Some(&pki));
    let stranger = Pki::new("Someone else's CA").client("kitchen-node");
    let (server, _client) = handshake(
        TlsAcceptor::from(load(&settings).unwrap()),
        &connector(&pki, Some(&stranger)),
    )
    .await;
    let err = server.err().unwrap();
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
}

#[test]
fn mismatched_key_detected_at_load() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let (leaf, other) = (pki.server(), pki.server());
    let settings = TlsSettings {
        cert_file: dir.write("server.pem", &leaf.cert_pem),
        key_file: dir.write("other.key", &other.key_pem),
        client_ca_file: None,
        require_client_cert: false,
        identity_as_username: false,
    };
    let err = load(&settings).unwrap_err();
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("other.key") && message.contains("server.pem"),
        "{message}"
    );
    // rustls itself agrees that the pair does not match.
    let rustls_says =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der.clone()], other.key_der());
    assert!(matches!(
        rustls_says,
        Err(rustls::Error::InconsistentKeys(
            InconsistentKeys::KeyMismatch
        ))
    ));
}

#[test]
fn unreadable_file_names_the_file_and_the_os_error() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let mut settings = settings(&dir, &pki.server(), None);
    settings.cert_file = dir.0.join("missing.pem");
    let err = load(&settings).unwrap_err();
    let message = err.to_string();
    assert!(matches!(
        err,
        TlsError::Read {
            what: "certificate file",
            ..
        }
    ));
    assert!(message.contains("missing.pem"), "{message}");
    assert!(message.contains("No such file"), "{message}");
}

#[test]
fn certificate_file_without_certificate() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let leaf = pki.server();
    let mut settings = settings(&dir, &leaf, None);
    // Certificate and key swapped.
    settings.cert_file = dir.write("swapped.pem", &leaf.key_pem);
    let err = load(&settings).unwrap_err();
    assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
    assert!(err.to_string().contains("swapped?"), "{err}");
    assert!(!err.to_string().contains("BEGIN PRIVATE KEY"), "{err}");

    settings.cert_file = dir.write("empty.pem", "");
    let err = load(&settings).unwrap_err();
    assert!(
        matches!(err, TlsError::NoCertificate { hint: "", .. }),
        "{err}"
    );
}

#[test]
fn key_file_without_key() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let leaf = pki.server();
    let mut settings = settings(&dir, &leaf, None);
    settings.key_file = dir.write("cert-again.pem", &leaf.cert_pem);
    let err = load(&settings).unwrap_err();
    assert!(matches!(err, TlsError::NoKey { .. }), "{err}");
    assert!(err.to_string().contains("swapped?"), "{err}");

    let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0w\n\
                     -----END ENCRYPTED PRIVATE KEY-----\n";
    settings.key_file = dir.write("encrypted.key", encrypted);
    let err = load(&settings).unwrap_err();
    assert!(err.to_string().contains("openssl pkey"), "{err}");
}

#[test]
fn unsupported_key_is_named() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let mut settings = settings(&dir, &pki.server(), None);
    // Valid PEM and base64 whose contents are no key at all.
    let garbage =
        "-----BEGIN PRIVATE KEY-----\nAAECAwQFBgcICQoLDA0ODw==\n-----END PRIVATE KEY-----\n";
    settings.key_file = dir.write("garbage.key", garbage);
    let err = load(&settings).unwrap_err();
    assert!(matches!(err, TlsError::UnsupportedKey { .. }), "{err}");
    assert!(err.to_string().contains("ECDSA P-256"), "{err}");
}

#[test]
fn malformed_pem_is_reported_without_quoting_it() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let mut settings = settings(&dir, &pki.server(), None);
    settings.key_file = dir.write("cut.key", "-----BEGIN PRIVATE KEY-----\nAAECAwQF\n");
    let err = load(&settings).unwrap_err();
    assert!(matches!(err, TlsError::Pem { .. }), "{err}");
    assert!(!err.to_string().contains("AAECAwQF"), "{err}");
}

#[test]
fn client_ca_file_without_certificates() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let mut settings = settings(&dir, &pki.server(), None);
    settings.client_ca_file = Some(dir.write("ca.pem", "# nothing yet\n"));
    let err = load(&settings).unwrap_err();
    assert!(matches!(err, TlsError::NoClientCa { .. }), "{err}");
    assert!(err.to_string().contains("ca.pem"), "{err}");
}

#[test]
fn client_certificate_options_need_a_ca() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let mut settings = settings(&dir, &pki.server(), None);
    settings.require_client_cert = true;
    let err = load(&settings).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("require_client_cert needs client_ca_file"),
        "{err}"
    );
    settings.require_client_cert = false;
    settings.identity_as_username = true;
    let err = load(&settings).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("identity_as_username needs client_ca_file"),
        "{err}"
    );
}

#[tokio::test]
async fn reload_serves_new_certificate_to_new_connections_only() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let (old, renewed) = (pki.server(), pki.server());
    let old_settings = settings(&dir, &old, None);
    let cell = TlsAcceptorCell::new(&old_settings).unwrap();
    let connector = connector(&pki, None);

    let (server, client) = handshake(cell.acceptor(), &connector).await;
    let (mut old_server, mut old_client) = (server.unwrap(), client.unwrap());
    assert_eq!(seen_by_client(&old_client), old.der);

    // Renewed in place, as certbot does.
    let renewed_settings = settings(&dir, &renewed, None);
    assert_eq!(renewed_settings, old_settings);
    cell.reload(&renewed_settings).unwrap();

    let (server, client) = handshake(cell.acceptor(), &connector).await;
    let (mut new_server, mut new_client) = (server.unwrap(), client.unwrap());
    assert_eq!(seen_by_client(&new_client), renewed.der);
    ping_pong(&mut new_server, &mut new_client).await;
    ping_pong(&mut old_server, &mut old_client).await;
}

#[tokio::test]
async fn failed_reload_keeps_the_current_certificate() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let leaf = pki.server();
    let settings = settings(&dir, &leaf, None);
    let cell = TlsAcceptorCell::new(&settings).unwrap();
    // Half-way through a renewal: the new certificate, the old key.
    dir.write("server.pem", &pki.server().cert_pem);
    assert!(matches!(
        cell.reload(&settings),
        Err(TlsError::KeyMismatch { .. })
    ));
    let (_server, client) = handshake(cell.acceptor(), &connector(&pki, None)).await;
    assert_eq!(seen_by_client(&client.unwrap()), leaf.der);
}

#[tokio::test]
async fn plain_mqtt_on_tls_listener_is_recognised() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let acceptor = TlsAcceptor::from(load(&settings(&dir, &pki.server(), None)).unwrap());
    let (mut client, server_io) = duplex(4096);
    client
        .write_all(b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01a")
        .await
        .unwrap();
    let err = acceptor.accept(server_io).await.err().unwrap();
    assert!(sniff::is_plaintext_on_tls(&err), "{err}");

    let (mut client, server_io) = duplex(4096);
    client
        .write_all(b"GET /mqtt HTTP/1.1\r\nHost: pi\r\n\r\n")
        .await
        .unwrap();
    let err = acceptor.accept(server_io).await.err().unwrap();
    assert!(sniff::is_plaintext_on_tls(&err), "{err}");
}

#[tokio::test]
async fn failed_tls_handshake_is_not_plaintext() {
    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let mut settings = settings(&dir, &pki.server(), Some(&pki));
    settings.require_client_cert = true;
    let (server, _client) = handshake(
        TlsAcceptor::from(load(&settings).unwrap()),
        &connector(&pki, None),
    )
    .await;
    assert!(!sniff::is_plaintext_on_tls(&server.err().unwrap()));
}

#[test]
fn common_name_string_types() {
    let pki = Pki::new("Hearth test CA");
    let utf8 = pki.client("Küche");
    assert_eq!(common_name(&utf8.der).as_deref(), Some("Küche"));
    let printable = pki.client(DnValue::PrintableString("node-7".try_into().unwrap()));
    assert_eq!(common_name(&printable.der).as_deref(), Some("node-7"));
    let bmp = pki.client(DnValue::BmpString("Bad".try_into().unwrap()));
    assert_eq!(common_name(&bmp.der).as_deref(), Some("Bad"));
    let ia5 = pki.client(DnValue::Ia5String("garage".try_into().unwrap()));
    assert_eq!(common_name(&ia5.der).as_deref(), Some("garage"));
}

#[test]
fn common_name_is_the_subjects_not_the_issuers() {
    let pki = Pki::new("Hearth test CA");
    let leaf = pki.server();
    assert_eq!(common_name(&leaf.der).as_deref(), Some("hearth"));
    assert_eq!(common_name(&pki.ca_der).as_deref(), Some("Hearth test CA"));
}

#[test]
fn no_common_name() {
    let pki = Pki::new("Hearth test CA");
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    // rcgen puts a Common Name in by default.
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Home");
    let leaf = pki.sign(params);
    assert_eq!(common_name(&leaf.der), None);
}

#[test]
fn common_name_with_nul_is_refused() {
    let pki = Pki::new("Hearth test CA");
    let leaf = pki.client("admin\0node");
    assert_eq!(common_name(&leaf.der), None);
}

#[test]
fn truncated_or_garbage_der_is_none() {
    let pki = Pki::new("Hearth test CA");
    let der = pki.client("kitchen-node").der;
    for len in [0, 1, 2, 10, 100, der.len() / 2] {
        assert_eq!(common_name(&der[..len]), None, "truncated to {len}");
    }
    assert_eq!(common_name(b"\x30\x84\xff\xff\xff\xff"), None);
    assert_eq!(common_name(b"\x1f\x01\x00"), None);
}

#[tokio::test]
async fn websocket_over_tls_on_a_loopback_socket() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;

    use crate::transport::ws;

    let (dir, pki) = (TempDir::new(), Pki::new("Hearth test CA"));
    let acceptor = TlsAcceptor::from(load(&settings(&dir, &pki.server(), None)).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let mut stream = ws::accept(tls, ws::DEFAULT_PATH, 1024).await.unwrap();
        let mut got = [0; 2];
        stream.read_exact(&mut got).await.unwrap();
        stream.write_all(b"\xd0\x00").await.unwrap();
        stream.flush().await.unwrap();
        got
    });

    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    // By address: the server certificate names 127.0.0.1 too.
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let tls = connector(&pki, None).connect(name, tcp).await.unwrap();
    let mut request = format!("wss://127.0.0.1:{}/mqtt", addr.port())
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "mqtt".parse().unwrap());
    let (mut client, _) = tokio_tungstenite::client_async(request, tls).await.unwrap();
    client
        .send(Message::binary(b"\xc0\x00".to_vec()))
        .await
        .unwrap();
    match client.next().await {
        Some(Ok(Message::Binary(payload))) => assert_eq!(&payload[..], b"\xd0\x00"),
        other => panic!("expected PINGRESP in a binary message, got {other:?}"),
    }
    assert_eq!(&server.await.unwrap(), b"\xc0\x00");
}

//! Secure by default, and what `hearth check` names: a listener beyond loopback without users is
//! refused by `hearth check` and `hearth run` (nothing started) unless it says
//! `allow_anonymous = true`; a missing or malformed password file, an unreadable certificate, a
//! key that is not the certificate's and invalid access rule filters are each named with their
//! key path and line (and, in a password file, its own line).

use broker::auth::password_file::set_user;
use broker::codec::ConnectReturnCode;
use rcgen::{CertificateParams, KeyPair};

use super::harness::{connect_packet, hearth, Daemon, RawClient, TempConfig, TempDir};

/// Runs `hearth ARGS --config FILE`: (exit code, stdout, stderr).
fn hearth_with(args: &[&str], config: &TempConfig) -> (i32, String, String) {
    let out = hearth()
        .args(args)
        .arg("--config")
        .arg(&config.path)
        .output()
        .expect("run hearth");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_contains_all(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(text.contains(e), "missing {e:?} in:\n{text}");
    }
}

#[test]
fn a_listener_beyond_loopback_without_users_is_refused_by_check_and_run() {
    // Port 1 would need privileges: were anything started, `run` would fail to listen instead.
    for (name, text, key) in [
        (
            "secure-listen",
            "[broker]\nlisten = \"0.0.0.0:1\"\n",
            "line 2: broker.listen: listens on 0.0.0.0:1, beyond this machine, with no users",
        ),
        (
            "secure-listener",
            "[broker]\n\n[[broker.listener]]\nname = \"lan\"\naddress = \"0.0.0.0:1\"\n",
            "line 3: broker.listener[0]: listens on 0.0.0.0:1, beyond this machine, with no users",
        ),
        (
            "secure-ws",
            "[broker]\n\n[[broker.listener]]\nkind = \"ws\"\naddress = \"192.0.2.1:1\"\n",
            "line 3: broker.listener[0]: listens on 192.0.2.1:1, beyond this machine, with no users",
        ),
    ] {
        let config = TempConfig::new(name, text);
        let (code, _, stderr) = hearth_with(&["check"], &config);
        assert_eq!(code, 2, "{name}: {stderr}");
        // How to add a user, and how to open it anyway.
        assert_contains_all(
            &stderr,
            &[key, "hearth passwd /etc/hearth/passwd NAME", "password_file", "allow_anonymous = true"],
        );
        let (code, _, stderr) = hearth_with(&["run"], &config);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert_contains_all(&stderr, &[key, "nothing was started"]);
        assert!(!stderr.contains("listening"), "{name}: {stderr}");
    }
}

#[test]
fn allow_anonymous_true_or_users_open_a_listener_beyond_loopback() {
    let dir = TempDir::new("secure-open");
    let passwd = dir.0.join("passwd");
    set_user(&passwd, "alice", b"a").expect("add alice");
    for (name, text) in [
        (
            "secure-anonymous",
            "[broker]\n\n[[broker.listener]]\naddress = \"0.0.0.0:1883\"\nallow_anonymous = true\n"
                .to_string(),
        ),
        (
            "secure-users",
            format!(
                "[broker]\npassword_file = \"{}\"\nlisten = \"0.0.0.0:1883\"\n",
                passwd.display()
            ),
        ),
    ] {
        let config = TempConfig::new(name, &text);
        let (code, stdout, stderr) = hearth_with(&["check"], &config);
        assert_eq!(code, 0, "{name}: {stderr}");
        assert!(stdout.contains("configuration is valid"), "{stdout}");
    }

    // And `hearth run` serves it: an anonymous client comes in (over loopback).
    let daemon = Daemon::start(
        "secure-run",
        "\n[[broker.listener]]\nname = \"lan\"\naddress = \"0.0.0.0:0\"\nallow_anonymous = true\n",
    );
    let lan = daemon.listener_addr("lan");
    assert!(lan.ip().is_unspecified(), "{lan}");
    let at = std::net::SocketAddr::from(([127, 0, 0, 1], lan.port()));
    let (mut phone, code) = RawClient::open(at, connect_packet("phone", None));
    assert_eq!(code, ConnectReturnCode::Accepted);
    phone.ping();
}

#[test]
fn check_names_a_missing_password_file_and_each_bad_line_of_a_malformed_one() {
    let missing = TempConfig::new(
        "check-passwd-missing",
        "[broker]\npassword_file = \"/nonexistent/hearth/passwd\"\n",
    );
    let (code, _, stderr) = hearth_with(&["check"], &missing);
    assert_eq!(code, 2, "{stderr}");
    assert_contains_all(
        &stderr,
        &[
            "line 2: broker.password_file: /nonexistent/hearth/passwd: no such password file",
            "hearth passwd /nonexistent/hearth/passwd USER",
        ],
    );

    let dir = TempDir::new("check-passwd-files");
    let passwd = dir.0.join("passwd");
    set_user(&passwd, "alice", b"a").expect("add alice");
    let mut text = std::fs::read_to_string(&passwd).expect("read");
    text.push_str("bob\n# a comment\ncarol:$7$not-a-hash\n");
    std::fs::write(&passwd, text).expect("write");
    let config = TempConfig::new(
        "check-passwd-malformed",
        &format!(
            "[gateway]\nname = \"pi\"\n\n[broker]\npassword_file = \"{}\"\n",
            passwd.display()
        ),
    );
    let (code, _, stderr) = hearth_with(&["check"], &config);
    assert_eq!(code, 2, "{stderr}");
    assert_contains_all(
        &stderr,
        &[
            &format!(
                "line 5: broker.password_file: {}: 2 errors in the password file:",
                passwd.display()
            ),
            "line 2: no `:` between the user name and the password hash",
            "line 4: user \"carol\": ",
        ],
    );
    assert!(
        !stderr.contains("not-a-hash"),
        "a hash is never shown:\n{stderr}"
    );
}

#[test]
fn check_names_an_unreadable_certificate_and_a_key_that_is_not_the_certificates() {
    let dir = TempDir::new("check-tls-files");
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["hearth.local".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let cert_file = dir.0.join("server.pem");
    std::fs::write(&cert_file, cert.pem()).expect("write");
    let other_key_file = dir.0.join("other.key");
    let other = KeyPair::generate().expect("key");
    std::fs::write(&other_key_file, other.serialize_pem()).expect("write");
    let garbage_file = dir.0.join("notes.txt");
    std::fs::write(&garbage_file, "not a certificate\n").expect("write");

    let text = format!(
        r#"[broker]

[[broker.listener]]
name = "missing"
kind = "tls"
address = "127.0.0.1:8883"
cert_file = "{missing}"
key_file = "{other}"

[[broker.listener]]
name = "mismatch"
kind = "tls"
address = "127.0.0.1:8884"
cert_file = "{cert}"
key_file = "{other}"

[[broker.listener]]
name = "garbage"
kind = "wss"
address = "127.0.0.1:9443"
cert_file = "{garbage}"
key_file = "{other}"
"#,
        missing = dir.0.join("absent.pem").display(),
        cert = cert_file.display(),
        other = other_key_file.display(),
        garbage = garbage_file.display(),
    );
    let config = TempConfig::new("check-tls", &text);
    let (code, _, stderr) = hearth_with(&["check"], &config);
    assert_eq!(code, 2, "{stderr}");
    assert_contains_all(
        &stderr,
        &[
            "3 errors",
            &format!(
                "line 7: broker.listener[0].cert_file: cannot read the certificate file {}",
                dir.0.join("absent.pem").display()
            ),
            &format!(
                "line 15: broker.listener[1].key_file: the private key in {} does not match the certificate in {}",
                other_key_file.display(),
                cert_file.display()
            ),
            &format!(
                "line 21: broker.listener[2].cert_file: {}: no certificate found",
                garbage_file.display()
            ),
        ],
    );
}

#[test]
fn check_names_every_invalid_access_rule_filter() {
    let text = r#"[broker]

[[broker.acl]]
user = "esp-kitchen"
allow = "write"
topic = "Kitchen/#/oven"

[[broker.acl]]
allow = "read"
topic = "%x/set"

[[broker.acl]]
client = "phone"
deny = "readwrite"
topic = "Kitchen/+oven"

[[broker.acl]]
allow = "read"
topic = "%c/#"
"#;
    let config = TempConfig::new("check-acl", text);
    let (code, _, stderr) = hearth_with(&["check"], &config);
    assert_eq!(code, 2, "{stderr}");
    assert_contains_all(
        &stderr,
        &[
            "3 errors",
            "line 6: broker.acl[0].topic: \"Kitchen/#/oven\" is not a valid topic filter",
            "line 10: broker.acl[1].topic: \"%x/set\": \"%x\" is not a placeholder; use %u for the user name or %c for the client id",
            "line 15: broker.acl[2].topic: \"Kitchen/+oven\" is not a valid topic filter",
        ],
    );
    assert!(!stderr.contains("acl[3]"), "%c/# is valid:\n{stderr}");
}

//! `[[broker.listener]]`, `listen` and the secure default.

use super::errors_of;
use crate::config::Config;
use ::broker::ListenerKind;

fn parse(text: &str) -> Config {
    Config::parse(text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn without_listen_or_listeners_the_broker_is_on_loopback_and_anonymous() {
    let c = parse("");
    assert_eq!(c.broker.listeners.len(), 1);
    let only = &c.broker.listeners[0];
    assert_eq!(only.addr.to_string(), "127.0.0.1:1883");
    assert!(only.allow_anonymous);
}

#[test]
fn listeners_of_every_kind_are_read_with_their_defaults() {
    let c = parse(
        "[broker]\nlisten = \"127.0.0.1:1884\"\n\
         [[broker.listener]]\nkind = \"ws\"\naddress = \"127.0.0.1:9001\"\n\
         [[broker.listener]]\nname = \"lan\"\naddress = \"0.0.0.0:1883\"\nallow_anonymous = true\n",
    );
    let l = &c.broker.listeners;
    assert_eq!(l.len(), 3, "{l:?}");
    assert_eq!(l[0].kind, ListenerKind::Tcp);
    assert_eq!(l[0].addr.port(), 1884);
    assert_eq!(
        l[1].kind,
        ListenerKind::Ws {
            path: "/mqtt".into()
        }
    );
    assert_eq!(l[1].name, "ws:9001");
    assert!(l[1].allow_anonymous, "loopback without users");
    assert_eq!(l[2].name, "lan");
    assert!(l[2].allow_anonymous, "said explicitly");
}

#[test]
fn a_listener_beyond_loopback_without_users_is_refused_and_says_how_to_add_one() {
    for text in [
        "[broker]\nlisten = \"0.0.0.0:1883\"\n",
        "[broker]\n[[broker.listener]]\naddress = \"0.0.0.0:1883\"\n",
        "[broker]\n[[broker.listener]]\nkind = \"ws\"\naddress = \"192.168.1.50:9001\"\nallow_anonymous = false\n",
    ] {
        let errs = errors_of(text);
        assert_eq!(errs.len(), 1, "{text}: {errs:?}");
        assert!(
            errs[0].message.contains("hearth passwd") && errs[0].message.contains("allow_anonymous"),
            "{}",
            errs[0].message
        );
        assert!(errs[0].line >= 2, "{errs:?}");
    }
}

#[test]
fn with_users_a_listener_asks_for_passwords_unless_it_allows_anonymous() {
    let dir = std::env::temp_dir().join(format!("hearth-listener-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("passwd");
    ::broker::auth::password_file::set_user(&file, "node", b"secret").expect("user written");
    let c = parse(&format!(
        "[broker]\npassword_file = \"{}\"\n\
         [[broker.listener]]\naddress = \"0.0.0.0:1883\"\n\
         [[broker.listener]]\naddress = \"127.0.0.1:1884\"\n\
         [[broker.listener]]\naddress = \"127.0.0.1:1885\"\nallow_anonymous = true\n",
        file.display()
    ));
    let anonymous: Vec<bool> = c
        .broker
        .listeners
        .iter()
        .map(|l| l.allow_anonymous)
        .collect();
    assert_eq!(anonymous, [false, false, true]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_password_file_is_named_with_how_to_create_it() {
    let errs = errors_of("[broker]\npassword_file = \"/nonexistent/hearth/passwd\"\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        (errs[0].path.as_str(), errs[0].line),
        ("broker.password_file", 2)
    );
    assert!(
        errs[0].message.contains("hearth passwd"),
        "{}",
        errs[0].message
    );
}

#[test]
fn listeners_that_clash_or_lack_what_they_need_are_each_reported() {
    let errs = errors_of(
        "[broker]\n\
         [[broker.listener]]\naddress = \"127.0.0.1:1883\"\n\
         [[broker.listener]]\naddress = \"0.0.0.0:1883\"\nallow_anonymous = true\n\
         [[broker.listener]]\nkind = \"tls\"\naddress = \"127.0.0.1:8883\"\n\
         [[broker.listener]]\nkind = \"quic\"\naddress = \"127.0.0.1:1\"\n\
         [[broker.listener]]\nkind = \"ws\"\naddress = \"127.0.0.1:9001\"\npath = \"mqtt\"\n",
    );
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "broker.listener[1].address",
            "broker.listener[2].cert_file",
            "broker.listener[2].key_file",
            "broker.listener[3].kind",
            "broker.listener[4].path",
        ],
        "{errs:#?}"
    );
    assert!(
        errs[0].message.contains("cannot share a port"),
        "{}",
        errs[0].message
    );
    assert!(errs[3]
        .message
        .contains("\"tcp\", \"ws\", \"tls\" or \"wss\""));
}

#[test]
fn listeners_on_port_0_do_not_clash() {
    let c = parse(
        "[broker]\nlisten = \"127.0.0.1:0\"\n\
         [[broker.listener]]\nname = \"ws\"\nkind = \"ws\"\naddress = \"127.0.0.1:0\"\n\
         [[broker.listener]]\nname = \"all\"\nkind = \"ws\"\naddress = \"0.0.0.0:0\"\nallow_anonymous = true\n",
    );
    assert_eq!(
        c.broker.listeners.len(),
        3,
        "each port 0 is a free port of its own"
    );
}

#[test]
fn a_key_that_is_not_the_certificates_is_reported_on_the_key_file_line() {
    let dir = std::env::temp_dir().join(format!("hearth-config-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["hearth.local".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let (cert_file, key_file) = (dir.join("server.pem"), dir.join("other.key"));
    std::fs::write(&cert_file, cert.pem()).expect("write");
    let other = rcgen::KeyPair::generate().expect("key");
    std::fs::write(&key_file, other.serialize_pem()).expect("write");
    let text = format!(
        "[broker]\n\n[[broker.listener]]\nkind = \"tls\"\naddress = \"127.0.0.1:8883\"\n\
         cert_file = \"{}\"\nkey_file = \"{}\"\n",
        cert_file.display(),
        key_file.display()
    );
    let errors = errors_of(&text);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].path.as_str(), errors[0].line),
        ("broker.listener[0].key_file", 7)
    );
    assert!(errors[0].message.contains("does not match"), "{errors:?}");
}

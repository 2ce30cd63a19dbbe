//! Debian's mosquitto_pub and mosquitto_sub against the gateway, over plain TCP and TLS:
//! third-party clients a user reaches for first.

use std::net::SocketAddr;
use std::process::{Command, Output};

use tests::{start_broker, start_gateway, BrokerOptions, Pki, RawClient, TestBroker, WAIT};

/// Runs a mosquitto client off the async runtime; mosquitto_sub's waits are bounded by `WAIT`
/// (`-W`), and it exits as soon as it has its messages.
pub(super) async fn run(program: &'static str, addr: SocketAddr, args: &[&str]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(["-h", &addr.ip().to_string(), "-p", &addr.port().to_string()])
        .args(args);
    if program == "mosquitto_sub" {
        cmd.args(["-W", &WAIT.as_secs().to_string()]);
    }
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}); install Debian's mosquitto-clients")
        })
}

pub(super) fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_pub_retained_reading_reaches_mosquitto_sub() {
    let b = start_broker(BrokerOptions::default()).await;
    let published = run(
        "mosquitto_pub",
        b.addr(),
        &[
            "-t",
            "Kitchen/Fridge/temperature",
            "-m",
            "4.2",
            "-r",
            "-q",
            "1",
        ],
    )
    .await;
    stdout(&published);
    let got = run(
        "mosquitto_sub",
        b.addr(),
        &["-t", "Kitchen/+/temperature", "-v", "-C", "1", "-q", "1"],
    )
    .await;
    assert_eq!(stdout(&got).trim(), "Kitchen/Fridge/temperature 4.2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_sub_reads_sys_statistics() {
    let b = start_broker(BrokerOptions::default()).await;
    let got = run(
        "mosquitto_sub",
        b.addr(),
        &["-t", "$SYS/broker/version", "-v", "-C", "1"],
    )
    .await;
    let line = stdout(&got);
    assert!(line.starts_with("$SYS/broker/version hearth "), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_sub_with_mqtt_31_works() {
    let b = start_broker(BrokerOptions::default()).await;
    let got = run(
        "mosquitto_sub",
        b.addr(),
        &["-V", "mqttv31", "-t", "hearth/+/status", "-v", "-C", "1"],
    )
    .await;
    assert_eq!(stdout(&got).trim(), "hearth/test/status online");
}

/// A tls listener with this PKI's server certificate, `extra` keys on it, and `tables` after.
async fn tls_broker(pki: &Pki, extra: &str, tables: &str) -> TestBroker {
    let config = format!(
        "{}{tables}\n[homeassistant]\ndiscovery = false\n",
        pki.listener("tls", "tls", extra)
    );
    start_gateway(BrokerOptions::default(), &config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_pub_and_sub_connect_over_tls_with_cafile() {
    let pki = Pki::new();
    let b = tls_broker(&pki, "", "").await;
    let tls = b.listener_addr("tls");
    let ca = pki.ca_file.display().to_string();
    let published = run(
        "mosquitto_pub",
        tls,
        &[
            "--cafile",
            &ca,
            "-t",
            "Hall/Door/state",
            "-m",
            "open",
            "-r",
            "-q",
            "1",
        ],
    )
    .await;
    stdout(&published);
    let got = run(
        "mosquitto_sub",
        tls,
        &["--cafile", &ca, "-t", "Hall/#", "-v", "-C", "1", "-q", "1"],
    )
    .await;
    assert_eq!(stdout(&got).trim(), "Hall/Door/state open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_clients_with_a_client_certificate_are_named_by_its_common_name() {
    let pki = Pki::new();
    let extra = format!(
        "{}\nrequire_client_certificate = true\nuse_identity_as_username = true",
        pki.client_ca_line()
    );
    let acl = "
[[broker.acl]]
user = \"esp-kitchen\"
allow = \"write\"
topic = \"Kitchen/#\"

[[broker.acl]]
allow = \"readwrite\"
topic = \"$marker/#\"

[[broker.acl]]
allow = \"read\"
topic = \"#\"
";
    let b = tls_broker(&pki, &extra, acl).await;
    let tls = b.listener_addr("tls");
    let ca = pki.ca_file.display().to_string();
    let (cert, key) = pki.write_client("esp-kitchen", &pki.client("esp-kitchen"));
    let (cert, key) = (cert.display().to_string(), key.display().to_string());

    // Without a certificate mosquitto_sub is refused.
    let refused = run(
        "mosquitto_sub",
        tls,
        &["--cafile", &ca, "-t", "#", "-C", "1"],
    )
    .await;
    assert!(!refused.status.success(), "connected without a certificate");

    let mut obs = RawClient::connect(b.addr(), "obs").await;
    assert_eq!(
        obs.subscribe_many(&[("Kitchen/#", 1), ("Garage/#", 1)])
            .await,
        [1, 1]
    );
    for (topic, payload) in [
        ("Garage/door", "open"),
        ("Kitchen/Fridge/temperature", "4.2"),
    ] {
        let out = run(
            "mosquitto_pub",
            tls,
            &[
                "--cafile", &ca, "--cert", &cert, "--key", &key, "-t", topic, "-m", payload, "-q",
                "1",
            ],
        )
        .await;
        // Denied or not, QoS 1 is acknowledged: mosquitto_pub succeeds both times.
        stdout(&out);
    }
    let got: Vec<(String, String)> = obs
        .collect_before_marker()
        .await
        .iter()
        .map(|p| (p.topic.clone(), p.payload_str().to_owned()))
        .collect();
    assert_eq!(
        got,
        [("Kitchen/Fridge/temperature".to_string(), "4.2".to_string())],
        "esp-kitchen may write Kitchen/# only"
    );
}

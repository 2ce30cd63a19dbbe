//! Debian's mosquitto_pub and mosquitto_sub against the gateway: third-party clients a user
//! reaches for first.

use std::net::SocketAddr;
use std::process::{Command, Output};

use tests::{start_broker, BrokerOptions, WAIT};

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

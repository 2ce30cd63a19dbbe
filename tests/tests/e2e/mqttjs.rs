//! MQTT.js from npm, the client of most browser dashboards, against the ws listener: it runs
//! under Node.js (`tests/js/ws_roundtrip.js`, installed with `npm ci --prefix tests/js`) and
//! prints what it received.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tests::{payloads, start_gateway, BrokerOptions, RawClient};

const HOW_TO_INSTALL: &str = "install Node.js and npm (Debian: `apt-get install nodejs npm`), \
                              then MQTT.js with `npm ci --prefix tests/js`";

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// Runs `script` from tests/js with `args` under node, off the async runtime. Fails, saying
/// how to install them, when node or MQTT.js is missing: this test is not skipped.
async fn node(script: &str, args: &[String]) -> Output {
    let dir = js_dir();
    let installed = dir.join("node_modules/mqtt/package.json");
    assert!(
        installed.exists(),
        "MQTT.js is not installed ({} is missing): {HOW_TO_INSTALL}",
        installed.display()
    );
    let mut cmd = Command::new("node");
    cmd.arg(dir.join(script)).args(args).current_dir(&dir);
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("cannot run node ({e}): {HOW_TO_INSTALL}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqttjs_over_ws_subscribes_publishes_and_receives() {
    let listener = "
[[broker.listener]]
name = \"ws\"
kind = \"ws\"
address = \"127.0.0.1:0\"

[homeassistant]
discovery = false
";
    let b = start_gateway(BrokerOptions::default(), listener).await;
    let mut tcp = RawClient::connect(b.addr(), "tcp").await;
    tcp.publish("mqttjs/retained", "left by tcp", 1, true).await;
    assert_eq!(tcp.subscribe("mqttjs/echo/#", 2).await, 2);

    let url = format!("ws://{}/mqtt", b.listener_addr("ws"));
    let out = node("ws_roundtrip.js", &[url]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "MQTT.js failed ({:?}); it printed:\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    for want in [
        "connected session_present=false",
        "subscribed mqttjs/#:2",
        "received mqttjs/retained qos=1 retain=true left by tcp",
        "received mqttjs/echo/1 qos=1 retain=false hello at QoS 1",
        "received mqttjs/echo/2 qos=2 retain=false hello at QoS 2",
    ] {
        assert!(lines.contains(&want), "{want:?} not printed:\n{stdout}");
    }

    // What MQTT.js published reached the tcp client too.
    let mut got = payloads(&tcp.collect(2).await);
    got.sort();
    assert_eq!(
        got,
        ["hello at QoS 1", "hello at QoS 2"],
        "MQTT.js's messages at the tcp client"
    );
}

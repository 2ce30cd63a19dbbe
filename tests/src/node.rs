//! Scripts from `tests/js` under Node.js with MQTT.js (installed with
//! `npm ci --prefix tests/js`), and the gateway listener they reach it over.

use std::path::{Path, PathBuf};
use std::process::Command;

const HOW_TO_INSTALL: &str = "install Node.js and npm (Debian: `apt-get install nodejs npm`), \
                              then MQTT.js with `npm ci --prefix tests/js`";

/// A `ws` listener on its default path `/mqtt`, beside the plain one, for `start_gateway`.
pub const WS_LISTENER: &str = "
[[broker.listener]]
name = \"ws\"
kind = \"ws\"
address = \"127.0.0.1:0\"

[homeassistant]
discovery = false
";

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// Runs `script` from tests/js with `args` under node, off the async runtime, and returns
/// what it printed. Fails when the script fails, and, saying how to install them, when node
/// or MQTT.js is missing: a test that needs them is not skipped.
pub async fn node(script: &str, args: &[String]) -> String {
    let dir = js_dir();
    let installed = dir.join("node_modules/mqtt/package.json");
    assert!(
        installed.exists(),
        "MQTT.js is not installed ({} is missing): {HOW_TO_INSTALL}",
        installed.display()
    );
    let mut cmd = Command::new("node");
    cmd.arg(dir.join(script)).args(args).current_dir(&dir);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("cannot run node ({e}): {HOW_TO_INSTALL}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed ({:?}); it printed:\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

//! `hearth run` with users: refused logins are logged with the client's address, and neither
//! a password nor a stored hash is ever written to the log.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use broker::codec::ConnectReturnCode;

use super::harness::{connect_packet, hearth, with_credentials, Daemon, RawClient, TempDir};

const WAIT: Duration = Duration::from_secs(20);

/// Adds `user` as a script would: `hearth passwd --stdin FILE USER`.
fn add_user(file: &Path, user: &str, password: &str) {
    let mut child = hearth()
        .args(["passwd", "--stdin"])
        .arg(file)
        .arg(user)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hearth passwd");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write the password");
    let out = child.wait_with_output().expect("wait for hearth passwd");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_refused_login_is_logged_with_the_clients_address_and_never_the_password() {
    const RIGHT: &str = "Corr3ct-H0rse-Battery";
    const WRONG: &str = "Wr0ng-Guess-Staple";
    let dir = TempDir::new("users-log-files");
    let file = dir.0.join("passwd");
    add_user(&file, "alice", RIGHT);
    let stored = std::fs::read_to_string(&file).expect("read the password file");
    let hash = stored
        .trim()
        .strip_prefix("alice:")
        .expect("alice's line")
        .to_string();
    // The most verbose level: nothing at any level may show a password.
    let mut daemon = Daemon::start_logging(
        "users-log",
        &format!("password_file = \"{}\"\n", file.display()),
        "trace",
    );

    let mut alice = RawClient::login(daemon.addr, "alice-phone", "alice", RIGHT);
    alice.ping();
    let refusals = [
        (
            with_credentials("esp-1", "alice", WRONG),
            ConnectReturnCode::BadUserNameOrPassword,
            "bad user name or password",
        ),
        (
            with_credentials("esp-2", "mallory", RIGHT),
            ConnectReturnCode::BadUserNameOrPassword,
            "bad user name or password",
        ),
        (
            connect_packet("esp-3", None),
            ConnectReturnCode::NotAuthorized,
            "no user name and password",
        ),
    ];
    for (connect, code, why) in refusals {
        let client = connect.client_id.clone();
        let (refused, got) = RawClient::open(daemon.addr, connect);
        assert_eq!(got, code, "{client}");
        let from = refused.local_addr();
        let line = daemon
            .wait_for_log_since(0, &format!("refused connection from {from} "), WAIT)
            .unwrap_or_else(|| panic!("no refusal logged for {client} from {from}"));
        assert!(
            line.contains(why) && line.contains(&format!("client={client}")),
            "{line}"
        );
    }

    // Everything the daemon will ever log, up to its exit.
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(WAIT), Some(0));
    let log = daemon.whole_log().join("\n");
    for secret in [RIGHT, WRONG, hash.as_str()] {
        assert!(
            !log.contains(secret),
            "{secret:?} appears in the log:\n{log}"
        );
    }
}

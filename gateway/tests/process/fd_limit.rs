//! Out of file descriptors, `hearth run` refuses a new client at once instead of leaving it in
//! the kernel's backlog (at a soft limit of 1,024, twelve clients under max_clients once
//! waited 30 s for a CONNACK that never came), and says at start that its limit is too low.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use super::harness::{hearth, Daemon};

/// Descriptors the daemon may have: about a dozen go to the runtime, the listener and the
/// standard streams, so some fifty clients fit.
const LIMIT: u32 = 64;

/// Generous bound for each wait; waits end when the broker answers.
const WAIT: Duration = Duration::from_secs(30);

const CONNECT: [u8; 16] = [
    0x10, 0x0e, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x00, 0x00, 0x02, b'i', b'd',
];

/// How the broker answered a CONNECT.
#[derive(Debug, PartialEq)]
enum Answer {
    Accepted,
    /// CONNACK 3, server unavailable, then the close.
    Unavailable,
    /// Closed (or reset) without a CONNACK.
    Closed,
}

/// Connects, sends CONNECT with a fresh client id, and waits (bounded) for the answer.
fn try_connect(addr: SocketAddr, id: usize) -> (TcpStream, Answer) {
    let mut stream = TcpStream::connect(addr).expect("the kernel accepts the TCP connection");
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    let mut connect = CONNECT.to_vec();
    let client_id = format!("{id:02}");
    connect[14..16].copy_from_slice(client_id.as_bytes());
    // A refused client may be closed before it writes: that is an answer too.
    let _ = stream.write_all(&connect);
    let mut connack = [0u8; 4];
    let answer = match stream.read_exact(&mut connack) {
        Ok(()) if connack == [0x20, 0x02, 0x00, 0x00] => Answer::Accepted,
        Ok(()) if connack == [0x20, 0x02, 0x00, 0x03] => Answer::Unavailable,
        Ok(()) => panic!("unexpected answer {connack:02x?}"),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            panic!("client {id} got neither a CONNACK nor a close within {WAIT:?}: left waiting")
        }
        Err(_) => Answer::Closed,
    };
    (stream, answer)
}

fn ping(stream: &mut TcpStream) {
    stream.write_all(&[0xc0, 0x00]).expect("PINGREQ");
    let mut pingresp = [0u8; 2];
    stream.read_exact(&mut pingresp).expect("PINGRESP");
    assert_eq!(pingresp, [0xd0, 0x00]);
}

#[test]
fn clients_beyond_the_descriptor_limit_are_refused_at_once_not_left_waiting() {
    let mut command = Command::new("prlimit");
    command
        .arg(format!("--nofile={LIMIT}:{LIMIT}"))
        .arg(hearth().get_program());
    let daemon = Daemon::start_as("fd-limit", "", command);

    // The start said that max_clients cannot be honoured, and what to do.
    let warning = daemon
        .startup_log
        .iter()
        .find(|l| l.contains("file descriptors"))
        .unwrap_or_else(|| panic!("no descriptor warning in {:?}", daemon.startup_log));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(
        warning.contains(&format!("hard limit is {LIMIT}")),
        "{warning}"
    );
    assert!(warning.contains("LimitNOFILE=1152"), "{warning}");

    // Fill every descriptor the daemon has: each further client is answered at once.
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for id in 0..LIMIT as usize {
        let (stream, answer) = try_connect(daemon.addr, id);
        match answer {
            Answer::Accepted => accepted.push(stream),
            other => {
                refused.push(other);
                if refused.len() == 3 {
                    break;
                }
            }
        }
    }
    assert!(
        accepted.len() >= 10,
        "only {} clients before the limit",
        accepted.len()
    );
    assert_eq!(refused.len(), 3, "no client was refused");
    // Plain TCP: told why, when the close did not overtake the CONNACK.
    assert!(refused.contains(&Answer::Unavailable), "{refused:?}");

    // Those connected are still served.
    for stream in accepted.iter_mut().step_by(7) {
        ping(stream);
    }

    // A client that leaves gives its descriptor back to the next one. The broker closes the
    // socket just after the client sees it end, so a newcomer may be refused once or twice.
    let mut leaving = accepted.pop().expect("a client");
    leaving.write_all(&[0xe0, 0x00]).expect("DISCONNECT");
    let mut rest = Vec::new();
    let _ = leaving.read_to_end(&mut rest);
    let deadline = Instant::now() + WAIT;
    loop {
        let (mut stream, answer) = try_connect(daemon.addr, 99);
        if answer == Answer::Accepted {
            ping(&mut stream);
            break;
        }
        assert!(Instant::now() < deadline, "no descriptor came free");
    }
}

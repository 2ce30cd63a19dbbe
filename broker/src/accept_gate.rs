//! What happens to a socket between `accept` and its handshake: the per-address limits are
//! checked, and a refused socket is closed at once (after a CONNACK 3 "server unavailable" on
//! plain TCP listeners, which tells an MQTT client why). When the process is out of file
//! descriptors, a spare descriptor kept open for that moment is given up so the waiting
//! connection can be accepted and refused at once, instead of leaving it (and every client
//! behind it) waiting in the kernel's backlog until it gives up.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use log::Level;
use tokio::net::TcpStream;

use super::address_limits::{AddressLimitSettings, AddressLimits, AddressPermit};
use super::counters::Counters;
use super::listener::ListenerInfo;
use super::log_limit::{LogLimiter, Refusal};
use super::settings::ListenerKind;

/// CONNACK with return code 3, server unavailable.
const CONNACK_SERVER_UNAVAILABLE: [u8; 4] = [0x20, 0x02, 0x00, 0x03];

/// How long an accept loop pauses after an error it cannot shed, so it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

pub(crate) struct AcceptGate {
    limits: Arc<AddressLimits>,
    /// Opened at start and after each use; `None` while it cannot be reopened.
    spare: Mutex<Option<File>>,
    /// The spare was given up for the connection `accept` will return next.
    shedding: AtomicBool,
    counters: Arc<Counters>,
    refusals: Arc<LogLimiter>,
}

impl AcceptGate {
    pub(crate) fn new(
        settings: AddressLimitSettings,
        counters: Arc<Counters>,
        refusals: Arc<LogLimiter>,
    ) -> Self {
        Self {
            limits: AddressLimits::new(settings),
            spare: Mutex::new(open_spare()),
            shedding: AtomicBool::new(false),
            counters,
            refusals,
        }
    }

    /// Checks a just-accepted socket against its address's limits. A refused socket is closed
    /// here, counted and logged (rate-limited); an admitted one comes back with the permit
    /// that counts it against its address until dropped.
    pub(crate) fn admit(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        listener: &ListenerInfo,
    ) -> Option<(TcpStream, AddressPermit)> {
        if self.shedding.swap(false, Ordering::Relaxed) {
            // Accepted with the spare descriptor: there is none for it to keep.
            self.shed(stream, peer, listener);
            return None;
        }
        let refusal = match self.limits.admit(peer.ip()) {
            Ok(permit) => return Some((stream, permit)),
            Err(refusal) => refusal,
        };
        let (counter, kind) = match refusal {
            super::address_limits::AddressRefusal::TooManyConnections(_) => {
                (&self.counters.refused_per_address, Refusal::PerAddress)
            }
            super::address_limits::AddressRefusal::TooFast => {
                (&self.counters.refused_connect_rate, Refusal::ConnectRate)
            }
        };
        Counters::add(counter, 1);
        close_at_once(stream, &listener.kind);
        self.refusals.log(
            Level::Info,
            Some(peer.ip()),
            kind,
            format_args!(
                "refused connection from {peer} on listener {}: {refusal}",
                listener.name
            ),
        );
        None
    }

    /// Handles a failed `accept`. Out of descriptors, the spare one is given up, so the
    /// accept loop's next `accept` can take the waiting connection (or, with none waiting,
    /// wait for the next one as usual), which [`AcceptGate::admit`] then refuses at once. Any
    /// other error (or no spare to give up) pauses the loop briefly instead of spinning.
    pub(crate) async fn accept_failed(&self, listener: &ListenerInfo, error: std::io::Error) {
        if !out_of_descriptors(&error) {
            self.refusals.log(
                Level::Warn,
                None,
                Refusal::AcceptFailed,
                format_args!(
                    "cannot accept a connection on listener {}: {error}",
                    listener.name
                ),
            );
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            return;
        }
        if let Some(spare) = self.take_spare() {
            self.shedding.store(true, Ordering::Relaxed);
            drop(spare);
            return;
        }
        // The spare is gone (another part of the process took its descriptor): wait for one.
        self.refusals.log(
            Level::Warn,
            None,
            Refusal::Descriptors,
            format_args!(
                "cannot accept connections on listener {}: the process is out of file descriptors (limit {}); raise LimitNOFILE= in the systemd unit or lower max_clients",
                listener.name,
                soft_descriptor_limit()
            ),
        );
        self.put_spare(open_spare());
        tokio::time::sleep(ACCEPT_BACKOFF).await;
    }

    /// Closes a connection accepted with the spare descriptor, and takes the descriptor back.
    fn shed(&self, stream: TcpStream, peer: SocketAddr, listener: &ListenerInfo) {
        close_at_once(stream, &listener.kind);
        self.put_spare(open_spare());
        Counters::add(&self.counters.refused_descriptors, 1);
        self.refusals.log(
            Level::Warn,
            None,
            Refusal::Descriptors,
            format_args!(
                "refused connection from {peer} on listener {} at once: the process is out of file descriptors (limit {}); raise LimitNOFILE= in the systemd unit or lower max_clients",
                listener.name,
                soft_descriptor_limit()
            ),
        );
    }

    fn take_spare(&self) -> Option<File> {
        self.spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn put_spare(&self, spare: Option<File>) {
        let mut slot = self.spare.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = spare;
        }
    }
}

/// The descriptor kept in reserve: any file will do, `/dev/null` is always there (systemd's
/// `DevicePolicy=closed` allows it).
fn open_spare() -> Option<File> {
    File::open("/dev/null").ok()
}

fn out_of_descriptors(error: &std::io::Error) -> bool {
    matches!(
        rustix::io::Errno::from_io_error(error),
        Some(rustix::io::Errno::MFILE | rustix::io::Errno::NFILE)
    )
}

fn soft_descriptor_limit() -> String {
    match rustix::process::getrlimit(rustix::process::Resource::Nofile).current {
        Some(n) => n.to_string(),
        None => "unlimited".to_string(),
    }
}

/// Closes a refused socket without waiting for anything. On a plain TCP listener the client
/// first gets CONNACK 3 (server unavailable); what it already sent (its CONNECT) is read first
/// so that the close is a clean FIN rather than a reset that could discard that CONNACK.
/// TLS and WebSocket clients expect a handshake, not MQTT bytes, and are simply closed.
fn close_at_once(stream: TcpStream, kind: &ListenerKind) {
    if *kind != ListenerKind::Tcp {
        return;
    }
    // The socket is non-blocking: each call returns at once.
    let Ok(mut socket) = stream.into_std() else {
        return;
    };
    let mut sent = [0u8; 512];
    let _ = socket.read(&mut sent);
    let _ = socket.write(&CONNACK_SERVER_UNAVAILABLE);
    let _ = socket.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests;

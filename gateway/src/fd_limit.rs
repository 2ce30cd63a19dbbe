//! The process's file descriptor limit: every MQTT client holds one, so a soft limit of 1,024
//! (the default for services) cannot serve `max_clients = 1024`. At start the soft limit is
//! raised towards the hard one as far as `max_clients` plus [`MARGIN`] needs, and the log says
//! what was done, or what to change when the hard limit is too low.
//!
//! When descriptors run out anyway the broker refuses new clients at once (see the broker's
//! `accept_gate.rs`) rather than leaving them waiting in the kernel's backlog.

use log::{info, warn};
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Descriptors Hearth needs besides its clients: standard streams, the runtime's epoll and
/// wake-up descriptors, signal handling, the journal socket, each listener and its spare
/// descriptor, the uplink bridge, I2C buses and GPIO lines, files read or written now and then
/// (state, password file, certificates), and sockets accepted but not yet past their CONNECT
/// (a reconnect storm at the limit, each closed within `connect_timeout`).
pub const MARGIN: u64 = 128;

/// What was found and done; also what the log line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The soft limit already allows `needed` descriptors.
    Enough { soft: Limit, needed: u64 },
    /// The soft limit was raised from `from` to `to`, which allows `needed`.
    Raised { from: u64, to: u64, needed: u64 },
    /// The hard limit is below `needed`; the soft limit is now `soft` (the hard limit), which
    /// serves about `clients` clients.
    TooLow {
        soft: u64,
        needed: u64,
        clients: u64,
    },
    /// The limits could not be read or changed.
    Failed { error: String, needed: u64 },
}

/// A limit: a number of descriptors, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Finite(u64),
    Unlimited,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Finite(n) => write!(f, "{n}"),
            Limit::Unlimited => f.write_str("unlimited"),
        }
    }
}

/// Raises this process's soft descriptor limit for `max_clients` and logs what it did: at
/// info when the limit is enough, as a warning naming the numbers and the fix when not.
pub fn raise_for(max_clients: usize) -> Outcome {
    let needed = u64::try_from(max_clients)
        .unwrap_or(u64::MAX)
        .saturating_add(MARGIN);
    let outcome = apply(needed);
    log(&outcome, max_clients);
    outcome
}

fn apply(needed: u64) -> Outcome {
    let current = getrlimit(Resource::Nofile);
    let plan = plan(current.current, current.maximum, needed);
    let soft = match plan {
        Outcome::Raised { to, .. } => to,
        Outcome::TooLow { soft, .. } => soft,
        Outcome::Enough { .. } | Outcome::Failed { .. } => return plan,
    };
    if Some(soft) == current.current {
        return plan;
    }
    let wanted = Rlimit {
        current: Some(soft),
        maximum: current.maximum,
    };
    match setrlimit(Resource::Nofile, wanted) {
        Ok(()) => plan,
        Err(e) => Outcome::Failed {
            error: format!(
                "cannot raise the soft limit from {} to {soft}: {e}",
                Limit::from(current.current)
            ),
            needed,
        },
    }
}

impl From<Option<u64>> for Limit {
    fn from(n: Option<u64>) -> Self {
        n.map_or(Limit::Unlimited, Limit::Finite)
    }
}

/// What to do with the soft and hard limits (`None`: unlimited) to allow `needed`
/// descriptors. Never lowers the soft limit.
pub fn plan(soft: Option<u64>, hard: Option<u64>, needed: u64) -> Outcome {
    let Some(soft) = soft else {
        return Outcome::Enough {
            soft: Limit::Unlimited,
            needed,
        };
    };
    if soft >= needed {
        return Outcome::Enough {
            soft: Limit::Finite(soft),
            needed,
        };
    }
    match hard {
        Some(hard) if hard < needed => Outcome::TooLow {
            soft: hard.max(soft),
            needed,
            clients: hard.max(soft).saturating_sub(MARGIN),
        },
        _ => Outcome::Raised {
            from: soft,
            to: needed,
            needed,
        },
    }
}

fn log(outcome: &Outcome, max_clients: usize) {
    match outcome {
        Outcome::Enough { soft, needed } => info!(
            "file descriptor limit {soft} is enough for max_clients = {max_clients} (needs {needed})"
        ),
        Outcome::Raised { from, to, needed } => info!(
            "raised the file descriptor limit from {from} to {to} for max_clients = {max_clients} (needs {needed})"
        ),
        Outcome::TooLow {
            soft,
            needed,
            clients,
        } => {
            let or_lower = if *clients > 0 {
                format!(", or lower max_clients to {clients}")
            } else {
                String::new()
            };
            warn!(
                "max_clients = {max_clients} needs {needed} file descriptors ({MARGIN} beyond the clients, for listeners, files and handshakes) but the hard limit is {soft}: fewer clients can connect, and the rest will be refused. Set LimitNOFILE={needed} or more in the systemd unit (sudo systemctl edit hearth){or_lower}"
            )
        }
        Outcome::Failed { error, needed } => warn!(
            "max_clients = {max_clients} needs {needed} file descriptors: {error}. Set LimitNOFILE={needed} (or more) in the systemd unit, or lower max_clients"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_soft_limit_that_allows_max_clients_is_left_alone() {
        assert_eq!(
            plan(Some(4096), Some(4096), 1152),
            Outcome::Enough {
                soft: Limit::Finite(4096),
                needed: 1152
            }
        );
        assert_eq!(
            plan(None, None, 1152),
            Outcome::Enough {
                soft: Limit::Unlimited,
                needed: 1152
            }
        );
    }

    #[test]
    fn a_low_soft_limit_is_raised_as_far_as_needed_not_to_the_hard_limit() {
        // systemd's defaults for services: soft 1024, hard 524288.
        assert_eq!(
            plan(Some(1024), Some(524_288), 1152),
            Outcome::Raised {
                from: 1024,
                to: 1152,
                needed: 1152
            }
        );
        assert_eq!(
            plan(Some(1024), None, 1152),
            Outcome::Raised {
                from: 1024,
                to: 1152,
                needed: 1152
            }
        );
    }

    #[test]
    fn a_hard_limit_below_the_need_raises_to_it_and_says_how_many_clients_fit() {
        assert_eq!(
            plan(Some(256), Some(1024), 1152),
            Outcome::TooLow {
                soft: 1024,
                needed: 1152,
                clients: 896
            }
        );
        // Never lowered, even where the hard limit is odd.
        assert_eq!(
            plan(Some(64), Some(64), 1152),
            Outcome::TooLow {
                soft: 64,
                needed: 1152,
                clients: 0
            }
        );
    }

    #[test]
    fn raising_this_process_works_within_its_hard_limit() {
        // The test process's own limits: whatever they are, asking for what it already has
        // changes nothing and succeeds.
        let now = getrlimit(Resource::Nofile);
        let have = now.current.unwrap_or(u64::MAX);
        let outcome = raise_for(usize::try_from(have.saturating_sub(MARGIN)).unwrap_or(0));
        assert!(matches!(outcome, Outcome::Enough { .. }), "{outcome:?}");
        assert_eq!(getrlimit(Resource::Nofile).current, now.current);
    }
}

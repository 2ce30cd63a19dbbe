//! Rate-limited logging of refusals, so a client retrying every few seconds with a bad
//! password, or a fuzzer sending garbage, cannot fill the journal on an SD card.
//!
//! Per source address and kind of refusal, the first [`LINES_PER_WINDOW`] lines of each
//! [`WINDOW`] are logged as they come; the rest are counted, and the count is logged as one
//! summary line ("… and 995 more connections closed for protocol errors from 192.0.2.7 in the
//! last 60 s") when the window is over: on the next refusal of that kind from that source, or
//! on [`LogLimiter::flush`], which the router calls on its `$SYS` tick. There is no timer task.
//!
//! Memory is bounded: at most [`MAX_TRACKED`] (address, kind) pairs are tracked at once;
//! refusals from further addresses share one entry per kind ("from other addresses") until old
//! windows end.
//!
//! Use it from any task (it is a short `std` mutex, never held while logging):
//!
//! ```text
//! ctx.refusals.log(Level::Info, Some(peer.ip()), Refusal::Credentials, format_args!(
//!     "refused connection from {peer} on listener {name}: bad user name or password"
//! ));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use log::Level;

/// How long a window lasts.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// Lines logged per source and kind in one window before the rest are only counted.
pub(crate) const LINES_PER_WINDOW: u32 = 5;
/// (address, kind) pairs tracked at once.
pub(crate) const MAX_TRACKED: usize = 256;

/// What was refused; each kind of refusal from one source is limited on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Refusal {
    /// A connection closed before or at CONNECT: garbage, a malformed CONNECT, no CONNECT.
    Protocol,
    /// A CONNECT refused for its user name, password or certificate.
    Credentials,
    /// Too many connections open at once from one address.
    PerAddress,
    /// An address connecting faster than its CONNECT rate allows.
    ConnectRate,
    /// The process ran out of file descriptors.
    Descriptors,
    /// `accept` failed for another reason.
    AcceptFailed,
    /// A PUBLISH or SUBSCRIBE whose topic is longer or deeper than allowed.
    TopicLimit,
    /// A new retained topic beyond `max_retained_messages`.
    RetainedLimit,
}

impl Refusal {
    /// What the summary line counts ("… and 3 more {what} from …").
    fn what(self) -> &'static str {
        match self {
            Refusal::Protocol => "connections closed for protocol errors",
            Refusal::Credentials => "connections refused for their credentials",
            Refusal::PerAddress => "connections refused: too many from one address",
            Refusal::ConnectRate => "connections refused: connecting too often",
            Refusal::Descriptors => "connections refused: out of file descriptors",
            Refusal::AcceptFailed => "failed accepts",
            Refusal::TopicLimit => "messages or subscriptions refused: topic too long or deep",
            Refusal::RetainedLimit => "retained messages not stored: max_retained_messages reached",
        }
    }
}

/// Where refusals came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    Address(IpAddr),
    /// Every address beyond the tracked ones.
    Overflow,
    /// Refusals that are not about an address.
    Anyone,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Address(ip) => write!(f, " from {ip}"),
            Source::Overflow => f.write_str(" from other addresses"),
            Source::Anyone => Ok(()),
        }
    }
}

struct Window {
    started: Instant,
    logged: u32,
    suppressed: u64,
}

/// Decides which refusal lines are written; shared by the listeners, the connections and the
/// router.
pub(crate) struct LogLimiter {
    windows: Mutex<HashMap<(Source, Refusal), Window>>,
    /// Lines written, summaries included.
    lines: AtomicU64,
    /// Lines not written (counted in a summary instead).
    suppressed: AtomicU64,
}

impl Default for LogLimiter {
    fn default() -> Self {
        Self {
            windows: Mutex::new(HashMap::new()),
            lines: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }
}

impl LogLimiter {
    /// Logs `line` at `level` unless this source already had its share of this kind of
    /// refusal in the current window; then it is only counted. `source` is the client's
    /// address, or `None` for refusals that are not about one (all then share one budget).
    pub(crate) fn log(
        &self,
        level: Level,
        source: Option<IpAddr>,
        kind: Refusal,
        line: fmt::Arguments<'_>,
    ) {
        self.log_at(Instant::now(), level, source, kind, line);
    }

    /// [`LogLimiter::log`] at a given time; returns whether `line` was written.
    pub(crate) fn log_at(
        &self,
        now: Instant,
        level: Level,
        source: Option<IpAddr>,
        kind: Refusal,
        line: fmt::Arguments<'_>,
    ) -> bool {
        let mut summaries = Vec::new();
        let write = {
            let mut windows = self.lock();
            let mut source = source.map_or(Source::Anyone, Source::Address);
            if !windows.contains_key(&(source, kind)) && windows.len() >= MAX_TRACKED {
                end_windows(&mut windows, now, false, &mut summaries);
                if windows.len() >= MAX_TRACKED && matches!(source, Source::Address(_)) {
                    // The shared entries may go beyond the cap: there is one per kind at most.
                    source = Source::Overflow;
                }
            }
            let window = windows.entry((source, kind)).or_insert(Window {
                started: now,
                logged: 0,
                suppressed: 0,
            });
            if now.saturating_duration_since(window.started) >= WINDOW {
                if window.suppressed > 0 {
                    summaries.push(summary(source, kind, window, now));
                }
                *window = Window {
                    started: now,
                    logged: 0,
                    suppressed: 0,
                };
            }
            if window.logged < LINES_PER_WINDOW {
                window.logged += 1;
                true
            } else {
                window.suppressed += 1;
                false
            }
        };
        for s in &summaries {
            log::log!(level, "{s}");
        }
        if write {
            log::log!(level, "{line}");
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
        }
        self.lines
            .fetch_add(summaries.len() as u64 + u64::from(write), Ordering::Relaxed);
        write
    }

    /// Logs the summary of every window that is over and forgets those sources; called on
    /// the router's `$SYS` tick so a burst that stopped is still summed up.
    pub(crate) fn flush(&self) {
        self.flush_at(Instant::now());
    }

    /// [`LogLimiter::flush`] at a given time.
    pub(crate) fn flush_at(&self, now: Instant) {
        self.end(now, false);
    }

    fn end(&self, now: Instant, all: bool) {
        let mut summaries = Vec::new();
        end_windows(&mut self.lock(), now, all, &mut summaries);
        for s in &summaries {
            log::info!("{s}");
        }
        self.lines
            .fetch_add(summaries.len() as u64, Ordering::Relaxed);
    }

    /// Logs the summary of every window that held lines back, ended or not, and forgets
    /// every source: at shutdown.
    pub(crate) fn flush_all(&self) {
        self.end(Instant::now(), true);
    }

    /// Refusal lines written so far, summaries included.
    pub(crate) fn lines_written(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }

    /// Refusal lines counted instead of written.
    pub(crate) fn lines_suppressed(&self) -> u64 {
        self.suppressed.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Source, Refusal), Window>> {
        // A panic while holding it leaves only counts behind: carry on with them.
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Removes the windows that are over (`all`: every window), keeping the summaries of those
/// that held lines back.
fn end_windows(
    windows: &mut HashMap<(Source, Refusal), Window>,
    now: Instant,
    all: bool,
    summaries: &mut Vec<String>,
) {
    windows.retain(|&(source, kind), window| {
        if !all && now.saturating_duration_since(window.started) < WINDOW {
            return true;
        }
        if window.suppressed > 0 {
            summaries.push(summary(source, kind, window, now));
        }
        false
    });
}

fn summary(source: Source, kind: Refusal, window: &Window, now: Instant) -> String {
    format!(
        "… and {} more {}{source} in the last {} s (each kind of refusal is logged at most {LINES_PER_WINDOW} times a minute per address)",
        window.suppressed,
        kind.what(),
        now.saturating_duration_since(window.started).as_secs(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([192, 0, 2, last]))
    }

    fn note(l: &LogLimiter, now: Instant, source: Option<IpAddr>, kind: Refusal) -> bool {
        l.log_at(now, Level::Info, source, kind, format_args!("refused"))
    }

    #[test]
    fn the_first_lines_of_a_window_are_written_then_counted_then_summed_up() {
        let l = LogLimiter::default();
        let t0 = Instant::now();
        let written: Vec<bool> = (0..1000)
            .map(|_| note(&l, t0, ip(7), Refusal::Protocol))
            .collect();
        assert!(written[..LINES_PER_WINDOW as usize].iter().all(|w| *w));
        assert!(written[LINES_PER_WINDOW as usize..].iter().all(|w| !*w));
        assert_eq!(l.lines_written(), u64::from(LINES_PER_WINDOW));
        assert_eq!(l.lines_suppressed(), 1000 - u64::from(LINES_PER_WINDOW));

        // The next window starts with a summary line, then writes again.
        assert!(note(&l, t0 + WINDOW, ip(7), Refusal::Protocol));
        assert_eq!(l.lines_written(), u64::from(LINES_PER_WINDOW) + 2);
    }

    #[test]
    fn sources_and_kinds_have_their_own_budgets() {
        let l = LogLimiter::default();
        let t0 = Instant::now();
        for _ in 0..LINES_PER_WINDOW {
            assert!(note(&l, t0, ip(1), Refusal::Protocol));
        }
        assert!(!note(&l, t0, ip(1), Refusal::Protocol));
        assert!(note(&l, t0, ip(2), Refusal::Protocol), "another address");
        assert!(note(&l, t0, ip(1), Refusal::Credentials), "another kind");
    }

    #[test]
    fn flush_sums_up_ended_windows_and_forgets_them() {
        let l = LogLimiter::default();
        let t0 = Instant::now();
        for _ in 0..10 {
            note(&l, t0, ip(1), Refusal::ConnectRate);
        }
        note(&l, t0, ip(2), Refusal::ConnectRate);
        l.flush_at(t0 + WINDOW / 2);
        assert_eq!(
            l.lines_written(),
            u64::from(LINES_PER_WINDOW) + 1,
            "too early"
        );
        l.flush_at(t0 + WINDOW);
        // One summary for the address that had lines held back; none for the other.
        assert_eq!(l.lines_written(), u64::from(LINES_PER_WINDOW) + 2);
        assert!(l.lock().is_empty());
    }

    #[test]
    fn memory_stays_bounded_however_many_addresses_refuse() {
        let l = LogLimiter::default();
        let t0 = Instant::now();
        for i in 0..100_000u32 {
            let source = Some(IpAddr::from((0xc000_0000 | i).to_be_bytes()));
            note(&l, t0, source, Refusal::Protocol);
        }
        let tracked = l.lock().len();
        assert!(tracked <= MAX_TRACKED + 1, "{tracked} entries");
        // Beyond the tracked addresses all share one budget, so the lines stay bounded too.
        assert_eq!(
            l.lines_written(),
            MAX_TRACKED as u64 + u64::from(LINES_PER_WINDOW)
        );
        // Once their windows end, new addresses are tracked again.
        assert!(note(&l, t0 + WINDOW, ip(9), Refusal::Protocol));
        assert!(l.lock().len() <= 2);
    }

    #[test]
    fn refusals_without_an_address_share_one_budget() {
        let l = LogLimiter::default();
        let t0 = Instant::now();
        let written = (0..100)
            .filter(|_| note(&l, t0, None, Refusal::Descriptors))
            .count();
        assert_eq!(written, LINES_PER_WINDOW as usize);
    }
}

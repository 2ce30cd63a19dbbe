//! The router behind a lock, so a connection's task hands it a packet by calling it rather than
//! by waking another task.
//!
//! On a Pi's few cores the hop from a connection's reader to a router task cost more than the
//! routing itself (a task switch and a wake-up per packet, measured as a fifth of the broker's
//! time at QoS 0 one to one). Every connection task now locks the router, handles its packet
//! and lets go; the work done under the lock never awaits, so a task holds it for microseconds.
//! In-process clients (`BrokerHandle`) call it the same way. One task still owns the timers
//! (`$SYS`, session expiry), reloads and shutdown, which reach it through a channel, and
//! answers the watchdog's ping only if it can take the lock: a router stuck under its lock
//! stops the pings.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use log::error;
use tokio::sync::mpsc;

use super::Router;
use crate::event::Event;

/// The one router every connection shares.
#[derive(Clone)]
pub(crate) struct SharedRouter(Arc<Mutex<Running>>);

struct Running {
    router: Router,
    /// Shutdown has run: the wills are out and the connections told to close.
    stopped: bool,
}

/// The router has shut down; the connection should end.
#[derive(Debug)]
pub(crate) struct Stopped;

impl SharedRouter {
    pub(crate) fn new(router: Router) -> Self {
        SharedRouter(Arc::new(Mutex::new(Running {
            router,
            stopped: false,
        })))
    }

    /// The router, unless a panic under the lock (a bug) may have left it half changed: then
    /// nothing is served from it, connections end, and the task stops, which stops the
    /// daemon (systemd starts it again) rather than let it run on with a broken broker.
    fn lock(&self) -> Result<MutexGuard<'_, Running>, Stopped> {
        self.0.lock().map_err(|_| Stopped)
    }

    /// Handles one event from a connection or an in-process client, in the caller's task.
    pub(crate) fn handle(&self, event: Event) -> Result<(), Stopped> {
        let mut running = self.lock()?;
        if running.stopped {
            return Err(Stopped);
        }
        running.router.handle(event);
        Ok(())
    }

    /// Handles the events sent to the router's task (pings, reloads) and the periodic work,
    /// until `Shutdown` arrives or every sender is gone.
    pub(crate) async fn run(self, mut events: mpsc::Receiver<Event>) {
        let Ok((period, deadline_moved, mut next_deadline)) = self.lock().map(|running| {
            let router = &running.router;
            (
                router.settings.sys_interval,
                router.deadline_moved(),
                router.next_deadline(),
            )
        }) else {
            return;
        };
        let mut sys_tick = tokio::time::interval(if period.is_zero() {
            Duration::from_secs(3600)
        } else {
            period
        });
        sys_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Far deadlines are slept towards a day at a time: the loop looks again anyway.
            let wake = next_deadline.map_or(Instant::now() + MAX_SLEEP, |at| {
                at.min(Instant::now() + MAX_SLEEP)
            });
            let work = tokio::select! {
                event = events.recv() => match event {
                    None => break,
                    Some(Event::Shutdown) => Work::Shutdown,
                    Some(event) => Work::Event(event),
                },
                _ = sys_tick.tick(), if !period.is_zero() => Work::PublishSys,
                _ = tokio::time::sleep_until(wake.into()) => Work::Deadlines,
                // A connection set an earlier deadline under the lock: sleep until that.
                _ = deadline_moved.notified() => Work::Nothing,
            };
            let Ok(mut running) = self.lock() else {
                error!("the broker's router panicked while handling a packet; stopping");
                return;
            };
            match work {
                Work::Event(event) => running.router.handle(event),
                Work::PublishSys => running.router.publish_sys(),
                Work::Deadlines => running.router.run_due(Instant::now()),
                Work::Nothing => {}
                Work::Shutdown => {
                    running.router.shutdown();
                    running.stopped = true;
                    return;
                }
            }
            next_deadline = running.router.next_deadline();
        }
    }
}

/// The longest the router's task sleeps without looking at its deadlines again.
const MAX_SLEEP: Duration = Duration::from_secs(24 * 3600);

/// What the router's own task does next.
// Held for one turn of the loop, never stored: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Work {
    Event(Event),
    PublishSys,
    /// Publish the delayed wills and end the sessions whose time has come.
    Deadlines,
    /// Only look again at when the next deadline is.
    Nothing,
    /// Publish the wills still due, close every connection, and stop.
    Shutdown,
}

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
use std::time::Duration;

use log::error;
use tokio::sync::mpsc;

use super::{Router, EXPIRY_CHECK};
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
        let Ok((period, expires)) = self.lock().map(|running| {
            let settings = &running.router.settings;
            (settings.sys_interval, settings.session_expiry.is_some())
        }) else {
            return;
        };
        let mut sys_tick = tokio::time::interval(if period.is_zero() {
            Duration::from_secs(3600)
        } else {
            period
        });
        sys_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut expiry_tick = tokio::time::interval(EXPIRY_CHECK);
        expiry_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let work = tokio::select! {
                event = events.recv() => match event {
                    None => break,
                    Some(Event::Shutdown) => Work::Shutdown,
                    Some(event) => Work::Event(event),
                },
                _ = sys_tick.tick(), if !period.is_zero() => Work::PublishSys,
                _ = expiry_tick.tick(), if expires => Work::ExpireSessions,
            };
            let Ok(mut running) = self.lock() else {
                error!("the broker's router panicked while handling a packet; stopping");
                return;
            };
            match work {
                Work::Event(event) => running.router.handle(event),
                Work::PublishSys => running.router.publish_sys(),
                Work::ExpireSessions => running.router.expire_sessions(),
                Work::Shutdown => {
                    running.router.shutdown();
                    running.stopped = true;
                    return;
                }
            }
        }
    }
}

/// What the router's own task does next.
// Held for one turn of the loop, never stored: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Work {
    Event(Event),
    PublishSys,
    ExpireSessions,
    /// Publish the wills still due, close every connection, and stop.
    Shutdown,
}

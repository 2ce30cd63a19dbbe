//! Per source address: how many connections may be open at once, and how fast new ones may
//! come (a token bucket). Checked as a socket is accepted, before any handshake, so a node
//! stuck in a reconnect loop or a flood from one machine costs a closed socket and nothing
//! more. After a Wi-Fi outage every node reconnects from its own address, so these limits do
//! not slow the reconnect storm down.
//!
//! Memory is bounded: an address is remembered while it has connections open or its bucket is
//! refilling, and idle entries are dropped once [`PRUNE_AT`] addresses are known.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// Addresses known before idle ones are forgotten.
const PRUNE_AT: usize = 4096;

/// The limits, as configured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AddressLimitSettings {
    /// Connections open at once from one address; 0 for no limit.
    pub max_connections: usize,
    /// New connections per second from one address, on average; 0 for no limit.
    pub connects_per_second: u32,
    /// New connections one address may open at once before the rate applies.
    pub connect_burst: u32,
    /// Whether clients on this machine (127.0.0.0/8, ::1) are limited too.
    pub limit_loopback: bool,
}

impl From<&crate::settings::BrokerSettings> for AddressLimitSettings {
    fn from(s: &crate::settings::BrokerSettings) -> Self {
        Self {
            max_connections: s.max_connections_per_address,
            connects_per_second: s.max_connects_per_address_per_second,
            connect_burst: s.max_connect_burst_per_address,
            limit_loopback: s.limit_loopback,
        }
    }
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressRefusal {
    /// This many connections are already open from the address.
    TooManyConnections(usize),
    /// The address used up its burst and connects faster than the rate.
    TooFast,
}

impl std::fmt::Display for AddressRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddressRefusal::TooManyConnections(n) => write!(
                f,
                "{n} connections already open from this address (max_connections_per_address)"
            ),
            AddressRefusal::TooFast => f.write_str(
                "it connects too often (max_connects_per_address_per_second and max_connect_burst_per_address)",
            ),
        }
    }
}

struct Entry {
    open: usize,
    tokens: f64,
    refilled: Instant,
}

pub(crate) struct AddressLimits {
    settings: AddressLimitSettings,
    entries: Mutex<HashMap<IpAddr, Entry>>,
}

/// One admitted connection's share of its address's count, given back when dropped (when the
/// connection's task ends).
pub(crate) struct AddressPermit {
    counted: Option<(Arc<AddressLimits>, IpAddr)>,
}

impl Drop for AddressPermit {
    fn drop(&mut self) {
        if let Some((limits, ip)) = self.counted.take() {
            let mut entries = limits.lock();
            if let Some(entry) = entries.get_mut(&ip) {
                entry.open = entry.open.saturating_sub(1);
            }
        }
    }
}

impl AddressLimits {
    pub(crate) fn new(settings: AddressLimitSettings) -> Arc<Self> {
        Arc::new(Self {
            settings,
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// Admits a new connection from `ip`, or says why not.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<AddressPermit, AddressRefusal> {
        self.admit_at(ip, Instant::now())
    }

    pub(crate) fn admit_at(
        self: &Arc<Self>,
        ip: IpAddr,
        now: Instant,
    ) -> Result<AddressPermit, AddressRefusal> {
        let s = self.settings;
        let ip = ip.to_canonical();
        let unlimited = s.max_connections == 0 && s.connects_per_second == 0;
        if unlimited || (ip.is_loopback() && !s.limit_loopback) {
            return Ok(AddressPermit { counted: None });
        }
        let burst = f64::from(s.connect_burst.max(1));
        let mut entries = self.lock();
        if entries.len() >= PRUNE_AT && !entries.contains_key(&ip) {
            prune(&mut entries, now, s);
        }
        let entry = entries.entry(ip).or_insert(Entry {
            open: 0,
            tokens: burst,
            refilled: now,
        });
        if s.max_connections > 0 && entry.open >= s.max_connections {
            return Err(AddressRefusal::TooManyConnections(entry.open));
        }
        if s.connects_per_second > 0 {
            let elapsed = now.saturating_duration_since(entry.refilled).as_secs_f64();
            entry.tokens = (entry.tokens + elapsed * f64::from(s.connects_per_second)).min(burst);
            entry.refilled = now;
            if entry.tokens < 1.0 {
                return Err(AddressRefusal::TooFast);
            }
            entry.tokens -= 1.0;
        }
        entry.open += 1;
        Ok(AddressPermit {
            counted: Some((self.clone(), ip)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, Entry>> {
        // Only counts are behind it: a panic elsewhere leaves them usable.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn known(&self) -> usize {
        self.lock().len()
    }
}

/// Forgets addresses with nothing open whose bucket is full again, so they would be admitted
/// exactly as a new address is. If a flood of distinct addresses leaves none such, forgets the
/// idle ones anyway: each then starts with a full bucket, which costs little next to memory.
fn prune(entries: &mut HashMap<IpAddr, Entry>, now: Instant, s: AddressLimitSettings) {
    let burst = f64::from(s.connect_burst.max(1));
    let rate = f64::from(s.connects_per_second);
    entries.retain(|_, e| {
        let refilled = e.tokens + now.saturating_duration_since(e.refilled).as_secs_f64() * rate;
        e.open > 0 || (rate > 0.0 && refilled < burst)
    });
    if entries.len() >= PRUNE_AT {
        entries.retain(|_, e| e.open > 0);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits(max_connections: usize, rate: u32, burst: u32) -> Arc<AddressLimits> {
        AddressLimits::new(AddressLimitSettings {
            max_connections,
            connects_per_second: rate,
            connect_burst: burst,
            limit_loopback: false,
        })
    }

    const NODE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 1, 20));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 1, 21));

    #[test]
    fn connections_beyond_the_limit_are_refused_until_one_closes() {
        let l = limits(3, 0, 0);
        let open: Vec<_> = (0..3)
            .map(|_| l.admit(NODE).expect("under limit"))
            .collect();
        assert_eq!(
            l.admit(NODE).err(),
            Some(AddressRefusal::TooManyConnections(3))
        );
        assert!(l.admit(OTHER).is_ok(), "another address has its own count");
        drop(open);
        assert!(l.admit(NODE).is_ok(), "closed connections are given back");
    }

    #[test]
    fn a_burst_is_admitted_then_the_rate_applies() {
        let l = limits(0, 2, 5);
        let t0 = Instant::now();
        let mut permits = Vec::new();
        for _ in 0..5 {
            permits.push(l.admit_at(NODE, t0).expect("within the burst"));
        }
        assert_eq!(l.admit_at(NODE, t0).err(), Some(AddressRefusal::TooFast));
        // Two per second come back.
        let later = t0 + Duration::from_millis(500);
        assert!(l.admit_at(NODE, later).is_ok());
        assert_eq!(l.admit_at(NODE, later).err(), Some(AddressRefusal::TooFast));
        // A long pause refills the bucket to the burst, no further.
        let much_later = t0 + Duration::from_secs(3600);
        for _ in 0..5 {
            assert!(l.admit_at(NODE, much_later).is_ok());
        }
        assert!(l.admit_at(NODE, much_later).is_err());
    }

    #[test]
    fn loopback_is_exempt_unless_asked() {
        let l = limits(1, 1, 1);
        let v4 = IpAddr::from([127, 0, 0, 1]);
        let v6 = IpAddr::from(std::net::Ipv6Addr::LOCALHOST);
        let mapped = IpAddr::from(std::net::Ipv4Addr::LOCALHOST.to_ipv6_mapped());
        let _held: Vec<_> = (0..100)
            .flat_map(|_| [l.admit(v4), l.admit(v6), l.admit(mapped)])
            .map(|p| p.expect("loopback is not limited"))
            .collect();
        assert_eq!(l.known(), 0);

        let strict = AddressLimits::new(AddressLimitSettings {
            limit_loopback: true,
            ..l.settings
        });
        let _one = strict.admit(v4).expect("first");
        assert!(
            strict.admit(mapped).is_err(),
            "::ffff:127.0.0.1 is 127.0.0.1"
        );
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_addresses() {
        let l = limits(4, 100, 10);
        let t0 = Instant::now();
        let mut held = Vec::new();
        for i in 0..50_000u32 {
            let ip = IpAddr::from((0x0a00_0000 | i).to_be_bytes());
            let permit = l.admit_at(ip, t0).expect("a new address is admitted");
            if i % 1000 == 0 {
                held.push(permit);
            }
        }
        assert!(l.known() <= PRUNE_AT, "{} addresses remembered", l.known());
        // Addresses with connections open are never forgotten: their counts stay right.
        let first = IpAddr::from([10, 0, 0, 0]);
        let later = t0 + Duration::from_secs(10);
        let _three: Vec<_> = (0..3)
            .map(|_| l.admit_at(first, later).expect("under the limit"))
            .collect();
        assert_eq!(
            l.admit_at(first, later).err(),
            Some(AddressRefusal::TooManyConnections(4))
        );
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let l = limits(0, 0, 0);
        let _held: Vec<_> = (0..10_000)
            .map(|_| l.admit(NODE).expect("no limits"))
            .collect();
        assert_eq!(l.known(), 0);
    }
}

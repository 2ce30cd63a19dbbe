//! `$SYS/broker/...` statistics, named like Mosquitto's so existing dashboards and apps
//! (MQTT Explorer, phone apps) show them. Retained, and published only when a value changed.

use std::collections::HashMap;
use std::time::Instant;

use super::codec::QoS;
use super::counters::Counters;
use super::message::Message;

/// Connections closed as accepted: too many open from their address.
pub(crate) const REFUSED_PER_ADDRESS: &str = "$SYS/broker/hearth/refused/connections/per_address";
/// Connections closed as accepted: their address connected too often.
pub(crate) const REFUSED_CONNECT_RATE: &str = "$SYS/broker/hearth/refused/connections/rate";
/// Connections closed as accepted: out of file descriptors.
pub(crate) const REFUSED_DESCRIPTORS: &str = "$SYS/broker/hearth/refused/connections/descriptors";
/// PUBLISHes dropped for a topic beyond `max_topic_length` or `max_topic_levels`.
pub(crate) const REFUSED_TOPIC_PUBLISH: &str = "$SYS/broker/hearth/refused/publish/topic_limit";
/// Subscription filters refused for the same limits.
pub(crate) const REFUSED_TOPIC_SUBSCRIBE: &str = "$SYS/broker/hearth/refused/subscribe/topic_limit";
/// Retained messages on new topics not stored: `max_retained_messages` reached.
pub(crate) const REFUSED_RETAINED: &str = "$SYS/broker/hearth/refused/retained/limit";
/// CONNECTs refused for their credentials (codes 4, 5), a will they may not write, or a
/// client id that is another user's session.
pub(crate) const REFUSED_AUTH: &str = "$SYS/broker/hearth/refused/connections/auth";
/// PUBLISHes the access rules did not let their client write (acknowledged, dropped).
pub(crate) const DENIED_PUBLISH: &str = "$SYS/broker/hearth/denied/publish";
/// Messages not delivered because their subscriber may not read the topic.
pub(crate) const DENIED_DELIVERIES: &str = "$SYS/broker/hearth/denied/deliveries";
/// Subscription filters the access rules refused (SUBACK 0x80).
pub(crate) const DENIED_SUBSCRIBE: &str = "$SYS/broker/hearth/denied/subscribe";

/// Messages the store's size cap kept out.
pub(crate) const STORE_DROPPED: &str = "$SYS/broker/hearth/store/dropped";
/// Whether the store is written: `on`, `off` (persistence off) or `failing` (running from
/// memory: a full or read-only card).
pub(crate) const PERSISTENCE: &str = "$SYS/broker/hearth/persistence";

/// Refusal lines written to the log, summaries included.
pub(crate) const REFUSAL_LINES_WRITTEN: &str = "$SYS/broker/hearth/refused/log/written";
/// Refusals counted but not logged, one source having had its share of lines this minute.
pub(crate) const REFUSAL_LINES_SUPPRESSED: &str = "$SYS/broker/hearth/refused/log/suppressed";

/// Figures only the router knows, taken at publish time.
pub(crate) struct Snapshot {
    pub clients_connected: usize,
    pub clients_total: usize,
    pub clients_maximum: usize,
    pub subscriptions: usize,
    pub retained: usize,
    pub stored: usize,
    /// Refusal log lines written, and those held back by rate limiting.
    pub refusal_lines: (u64, u64),
    /// See [`PERSISTENCE`].
    pub persistence: &'static str,
}

pub(crate) struct SysPublisher {
    started: Instant,
    last: HashMap<&'static str, String>,
}

impl SysPublisher {
    pub(crate) fn new(started: Instant) -> Self {
        Self {
            started,
            last: HashMap::new(),
        }
    }

    /// The messages whose value changed since the previous call (all of them the first time).
    pub(crate) fn messages(&mut self, s: &Snapshot, c: &Counters) -> Vec<Message> {
        let uptime = self.started.elapsed().as_secs();
        let values: [(&'static str, String); 30] = [
            (
                "$SYS/broker/version",
                format!("hearth {}", env!("CARGO_PKG_VERSION")),
            ),
            ("$SYS/broker/uptime", format!("{uptime} seconds")),
            (
                "$SYS/broker/clients/connected",
                s.clients_connected.to_string(),
            ),
            (
                "$SYS/broker/clients/disconnected",
                (s.clients_total.saturating_sub(s.clients_connected)).to_string(),
            ),
            ("$SYS/broker/clients/total", s.clients_total.to_string()),
            ("$SYS/broker/clients/maximum", s.clients_maximum.to_string()),
            (
                "$SYS/broker/subscriptions/count",
                s.subscriptions.to_string(),
            ),
            (
                "$SYS/broker/retained messages/count",
                s.retained.to_string(),
            ),
            ("$SYS/broker/store/messages/count", s.stored.to_string()),
            (
                "$SYS/broker/messages/received",
                Counters::get(&c.packets_received).to_string(),
            ),
            (
                "$SYS/broker/messages/sent",
                Counters::get(&c.packets_sent).to_string(),
            ),
            (
                "$SYS/broker/publish/messages/received",
                Counters::get(&c.publish_received).to_string(),
            ),
            (
                "$SYS/broker/publish/messages/sent",
                Counters::get(&c.publish_sent).to_string(),
            ),
            (
                "$SYS/broker/publish/messages/dropped",
                Counters::get(&c.publish_dropped).to_string(),
            ),
            (
                "$SYS/broker/bytes/received",
                Counters::get(&c.bytes_received).to_string(),
            ),
            (
                "$SYS/broker/bytes/sent",
                Counters::get(&c.bytes_sent).to_string(),
            ),
            // Hearth's own limits, which Mosquitto has no topics for.
            (
                REFUSED_PER_ADDRESS,
                Counters::get(&c.refused_per_address).to_string(),
            ),
            (
                REFUSED_CONNECT_RATE,
                Counters::get(&c.refused_connect_rate).to_string(),
            ),
            (
                REFUSED_DESCRIPTORS,
                Counters::get(&c.refused_descriptors).to_string(),
            ),
            (
                REFUSED_TOPIC_PUBLISH,
                Counters::get(&c.refused_topic_publish).to_string(),
            ),
            (
                REFUSED_TOPIC_SUBSCRIBE,
                Counters::get(&c.refused_topic_subscribe).to_string(),
            ),
            (
                REFUSED_RETAINED,
                Counters::get(&c.refused_retained).to_string(),
            ),
            (
                REFUSED_AUTH,
                Counters::get(&c.connects_refused_auth).to_string(),
            ),
            (DENIED_PUBLISH, Counters::get(&c.publish_denied).to_string()),
            (
                DENIED_DELIVERIES,
                Counters::get(&c.deliveries_denied).to_string(),
            ),
            (
                DENIED_SUBSCRIBE,
                Counters::get(&c.subscriptions_denied).to_string(),
            ),
            (REFUSAL_LINES_WRITTEN, s.refusal_lines.0.to_string()),
            (REFUSAL_LINES_SUPPRESSED, s.refusal_lines.1.to_string()),
            (PERSISTENCE, s.persistence.to_string()),
            (STORE_DROPPED, Counters::get(&c.store_dropped).to_string()),
        ];
        let mut out = Vec::new();
        for (topic, value) in values {
            if self.last.get(topic) != Some(&value) {
                out.push(Message::new(
                    topic,
                    value.clone().into_bytes(),
                    QoS::AtMostOnce,
                    true,
                ));
                self.last.insert(topic, value);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(connected: usize) -> Snapshot {
        Snapshot {
            clients_connected: connected,
            clients_total: 3,
            clients_maximum: 3,
            subscriptions: 4,
            retained: 5,
            stored: 0,
            refusal_lines: (0, 0),
            persistence: "off",
        }
    }

    #[test]
    fn only_changed_values_are_republished() {
        let mut sys = SysPublisher::new(Instant::now());
        let counters = Counters::default();
        let first = sys.messages(&snapshot(2), &counters);
        assert!(first.iter().all(|m| m.retain));
        assert!(first.iter().any(|m| &*m.topic == "$SYS/broker/version"));
        let second = sys.messages(&snapshot(1), &counters);
        let topics: Vec<&str> = second.iter().map(|m| &*m.topic).collect();
        assert!(topics.contains(&"$SYS/broker/clients/connected"));
        assert!(!topics.contains(&"$SYS/broker/version"));
    }
}

//! Broker-wide counters, shared by the router and the connection tasks, read for `$SYS`.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub(crate) struct Counters {
    pub bytes_received: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub packets_received: AtomicU64,
    pub packets_sent: AtomicU64,
    pub publish_received: AtomicU64,
    pub publish_sent: AtomicU64,
    /// QoS 0 messages a full client outbox refused, and queued messages dropped as the oldest.
    pub publish_dropped: AtomicU64,
    /// Connections closed as accepted: too many open from their address.
    pub refused_per_address: AtomicU64,
    /// Connections closed as accepted: their address connects too often.
    pub refused_connect_rate: AtomicU64,
    /// Connections closed as accepted: the process was out of file descriptors.
    pub refused_descriptors: AtomicU64,
    /// Client PUBLISHes (wills included) dropped for a topic beyond the length or depth limit.
    pub refused_topic_publish: AtomicU64,
    /// Subscription filters refused for their length or depth.
    pub refused_topic_subscribe: AtomicU64,
    /// Client retained messages on new topics not stored: `max_retained_messages` reached.
    pub refused_retained: AtomicU64,
    /// PUBLISHes from clients that the access rules did not let them write.
    pub publish_denied: AtomicU64,
    /// Messages not delivered because the subscriber may not read their topic.
    pub deliveries_denied: AtomicU64,
    /// SUBSCRIBE filters refused by the access rules.
    pub subscriptions_denied: AtomicU64,
    /// CONNECTs refused for bad or missing credentials, or a will the client may not write.
    pub connects_refused_auth: AtomicU64,
    /// Messages the store's size cap kept out (a session's oldest queued one, or the new one),
    /// and clients' retained messages on new topics not kept for it.
    pub store_dropped: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Every counter by a stable name: all are totals since the store was made, kept across
    /// restarts by the store.
    pub(crate) fn totals(&self) -> [(&'static str, &AtomicU64); 18] {
        [
            ("bytes_received", &self.bytes_received),
            ("bytes_sent", &self.bytes_sent),
            ("packets_received", &self.packets_received),
            ("packets_sent", &self.packets_sent),
            ("publish_received", &self.publish_received),
            ("publish_sent", &self.publish_sent),
            ("publish_dropped", &self.publish_dropped),
            ("refused_per_address", &self.refused_per_address),
            ("refused_connect_rate", &self.refused_connect_rate),
            ("refused_descriptors", &self.refused_descriptors),
            ("refused_topic_publish", &self.refused_topic_publish),
            ("refused_topic_subscribe", &self.refused_topic_subscribe),
            ("refused_retained", &self.refused_retained),
            ("publish_denied", &self.publish_denied),
            ("deliveries_denied", &self.deliveries_denied),
            ("subscriptions_denied", &self.subscriptions_denied),
            ("connects_refused_auth", &self.connects_refused_auth),
            ("store_dropped", &self.store_dropped),
        ]
    }
}

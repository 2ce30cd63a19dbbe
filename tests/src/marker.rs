//! Markers: a message a client sends itself to learn that everything sent to it before has
//! arrived, so a test can assert that something did not happen without waiting for a time.

use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers each client's marker topic.
static NEXT_CLIENT: AtomicU64 = AtomicU64::new(1);

/// One client's marker topic and how many markers it has sent.
pub struct Marker {
    topic: String,
    subscribed: bool,
    sent: u64,
}

impl Default for Marker {
    fn default() -> Self {
        Self::new()
    }
}

impl Marker {
    /// A topic of its own under `$marker/`: a `$` topic, so that no other test client's `#`
    /// or `+/...` subscription receives it (MQTT-4.7.2-1).
    pub fn new() -> Self {
        Marker {
            topic: format!("$marker/{}", NEXT_CLIENT.fetch_add(1, Ordering::Relaxed)),
            subscribed: false,
            sent: 0,
        }
    }

    /// The filter to subscribe to before the first marker; `None` once done.
    pub fn subscription(&mut self) -> Option<String> {
        (!std::mem::replace(&mut self.subscribed, true)).then(|| self.topic.clone())
    }

    /// Topic and payload of the next marker.
    pub fn next_marker(&mut self) -> (String, String) {
        self.sent += 1;
        (self.topic.clone(), format!("marker {}", self.sent))
    }
}

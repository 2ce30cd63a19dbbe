//! The gateway's in-process subscriptions (`BrokerHandle::subscribe`), read with the same
//! bounds as the network clients.

use broker::{Message, Subscription};

use crate::WAIT;

/// The next message of `sub`; panics if none arrives within `WAIT` or the broker stopped.
pub async fn next_local(sub: &mut Subscription) -> Message {
    match tokio::time::timeout(WAIT, sub.recv()).await {
        Ok(Some(m)) => m,
        Ok(None) => panic!("the broker stopped"),
        Err(_) => panic!("no message within {WAIT:?}"),
    }
}

/// Asserts the next message of `sub` is on `marker`: a message the test published on a topic
/// `sub` matches, after the traffic under test and from the same connection, so that the
/// broker routed it last and anything else for `sub` has arrived before it.
pub async fn expect_nothing_before_local(sub: &mut Subscription, marker: &str) {
    let m = next_local(sub).await;
    assert_eq!(
        &*m.topic,
        marker,
        "expected nothing before the marker on {marker}, got {:?}",
        String::from_utf8_lossy(&m.payload)
    );
}

//! The gateway's own availability on `hearth/<name>/status`: `online` while it runs, `offline`
//! after a clean shutdown, both retained so a phone app sees the current state on connect.

use broker::{BrokerHandle, LocalError, QoS};

pub const ONLINE: &str = "online";
pub const OFFLINE: &str = "offline";

pub fn status_topic(gateway_name: &str) -> String {
    format!("hearth/{gateway_name}/status")
}

pub async fn announce(
    broker: &BrokerHandle,
    gateway_name: &str,
    state: &str,
) -> Result<(), LocalError> {
    let payload = state.as_bytes().to_vec();
    broker
        .publish(&status_topic(gateway_name), payload, QoS::AtLeastOnce, true)
        .await
}

//! Who may connect and what each client may do, over real sockets: users from password files,
//! access rules, the gateway's protected topics, their reload with clients connected, and
//! CONNECT storms with passwords.

mod storm;
mod users;

use std::net::SocketAddr;

use tests::{mqtt_options, start_gateway, BrokerOptions, MqttClient, TestBroker, Users};

/// Broker options with `users` as the password file.
fn with_users(users: &Users) -> BrokerOptions {
    BrokerOptions {
        broker_keys: users.broker_key(),
        ..BrokerOptions::default()
    }
}

/// The gateway as a bare broker (no Home Assistant discovery) with `extra` (listeners...).
async fn broker(opts: BrokerOptions, extra: &str) -> TestBroker {
    start_gateway(opts, &bare(extra)).await
}

/// `extra` for a gateway without Home Assistant discovery.
fn bare(extra: &str) -> String {
    format!("\n[homeassistant]\ndiscovery = false\n{extra}")
}

/// A rumqttc client `id` logged in as `user`, accepted.
async fn login(addr: SocketAddr, id: &str, user: &str, password: &str) -> MqttClient {
    let mut opts = mqtt_options(addr, id);
    opts.set_credentials(user, password);
    MqttClient::connect(opts).await.0
}

//! Who may connect and what each client may do, over real sockets: users from password files,
//! access rules, the gateway's protected topics, their reload with clients connected, and
//! CONNECT storms with passwords.

mod acl;
mod protected;
mod reload;
mod storm;
mod users;

use std::net::SocketAddr;

use tests::{mqtt_options, start_gateway, BrokerOptions, MqttClient, TestBroker, Users};

/// Lets every client send itself markers (`$marker/...`), which the tests need to prove that
/// something did not arrive; with any rule configured, nothing else is allowed by default.
const MARKERS: &str = "\n[[broker.acl]]\nallow = \"readwrite\"\ntopic = \"$marker/#\"\n";

/// One `[[broker.acl]]` rule allowing `access` on `topic` to `who` ([`user`], [`client`] or
/// [`EVERYONE`]).
fn allow(who: &str, access: &str, topic: &str) -> String {
    format!("\n[[broker.acl]]\n{who}allow = \"{access}\"\ntopic = \"{topic}\"\n")
}

/// One `[[broker.acl]]` rule denying `access` on `topic` to `who`.
fn deny(who: &str, access: &str, topic: &str) -> String {
    format!("\n[[broker.acl]]\n{who}deny = \"{access}\"\ntopic = \"{topic}\"\n")
}

fn user(name: &str) -> String {
    format!("user = \"{name}\"\n")
}

fn client(id: &str) -> String {
    format!("client = \"{id}\"\n")
}

const EVERYONE: &str = "";

/// Broker options with `users` as the password file.
fn with_users(users: &Users) -> BrokerOptions {
    BrokerOptions {
        broker_keys: users.broker_key(),
        ..BrokerOptions::default()
    }
}

/// The gateway as a bare broker (no Home Assistant discovery) with `extra` (rules, listeners);
/// pass the same `extra` shape to [`TestBroker::reload`] through [`bare`].
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

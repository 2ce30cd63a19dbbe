//! The router's protocol rules, driven through `Router::handle` with fake clients: each test
//! reads as a scenario of packets in and packets out.

mod acl;
mod connect;
mod harness;
mod harness5;
mod limits;
mod mqtt31;
mod mqtt5_delivery;
mod mqtt5_refusals;
mod mqtt5_session;
mod mqtt5_subscription_ids;
mod qos;
mod retained;
mod session;
mod shared;
mod shared_subscriptions;
mod store;
mod subscribe;
mod takeover;
mod will;
mod will_delay;

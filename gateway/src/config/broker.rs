//! The `[broker]` table.

use super::error::ErrorSink;
use super::reader::TableReader;
use ::broker::BrokerSettings;

pub(crate) fn read(table: Option<TableReader>, errs: &mut ErrorSink) -> BrokerSettings {
    let mut settings = BrokerSettings::default();
    let Some(mut t) = table else {
        return settings;
    };
    if let Some(addr) = t.parsed(errs, "listen", "an address with a port", "127.0.0.1:1883") {
        settings.listen = addr;
    }
    // The smallest useful packet holds a CONNECT with a short client id and a will.
    if let Some(n) = t.integer(errs, "max_packet_size", 128..=268_435_455) {
        settings.max_packet_size = n;
    }
    if let Some(n) = t.integer(errs, "max_inflight", 1..=65_535) {
        settings.max_inflight = n;
    }
    if let Some(n) = t.integer(errs, "max_queued_messages", 0..=10_000_000) {
        settings.max_queued_messages = n;
    }
    if let Some(d) = t.duration(errs, "connect_timeout") {
        settings.connect_timeout = d;
    }
    if let Some(d) = t.duration(errs, "sys_interval") {
        settings.sys_interval = d;
    }
    if let Some(n) = t.integer(errs, "max_clients", 1..=1_000_000) {
        settings.max_clients = n;
    }
    t.finish(errs);
    settings
}

//! Applying new settings to a running broker without dropping a client: users, access rules,
//! anonymous access and TLS certificates change at once; the rest waits for a restart.
//!
//! Everything is read and checked before anything changes, so a file with errors leaves the
//! broker exactly as it was.

use std::sync::Arc;

use super::auth::users_changed;
use super::event::Event;
use super::listener::ListenerInfo;
use super::settings::{BrokerSettings, ListenerSettings};
use super::transport::tls;
use super::{load_access, Broker, BrokerError};

/// What a reload changed, and what it could not.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Users whose clients were disconnected: removed, or their password changed.
    pub users_disconnected: Vec<String>,
    /// Listeners whose certificate was read again.
    pub certificates_reloaded: Vec<String>,
    /// Settings that changed but take effect at the next restart.
    pub needs_restart: Vec<String>,
}

impl Broker {
    /// Puts `new` in force as far as a running broker can; see [`ReloadReport`].
    pub async fn reload(&mut self, new: &BrokerSettings) -> Result<ReloadReport, BrokerError> {
        let (users, acl) = load_access(new)?;
        let mut report = ReloadReport::default();
        // Running listeners with their new settings, when the listener is still there as it
        // was (same name, address and kind); certificates loaded before any is swapped.
        let mut matched: Vec<(&Arc<ListenerInfo>, &ListenerSettings)> = Vec::new();
        let mut certificates = Vec::new();
        for info in &self.listener_infos {
            let Some(wanted) = new.listeners.iter().find(|l| same_listener(info, l)) else {
                report
                    .needs_restart
                    .push(format!("listener {} (address or kind)", info.name));
                continue;
            };
            let running_names = info.kind_uses_certificate_names();
            if wanted
                .tls()
                .is_some_and(|t| t.identity_as_username != running_names)
            {
                // Who a connected client is was decided at its CONNECT; switching the rule
                // under it would leave clients named both ways.
                report
                    .needs_restart
                    .push(format!("listener {} use_identity_as_username", info.name));
            }
            if let (Some(cell), Some(settings)) = (&info.tls, wanted.tls()) {
                let config = tls::load(settings).map_err(|cause| BrokerError::Tls {
                    name: info.name.to_string(),
                    cause,
                })?;
                certificates.push((cell, config, info.name.to_string()));
            }
            matched.push((info, wanted));
        }
        for wanted in &new.listeners {
            if !self.listener_infos.iter().any(|i| same_listener(i, wanted)) {
                report
                    .needs_restart
                    .push(format!("new listener {}", wanted.name));
            }
        }

        // Everything read: now change.
        self.users_generation += 1;
        let generation = self.users_generation;
        let mut disconnect_users = Vec::new();
        let mut anonymous_refused_on = Vec::new();
        for (info, wanted) in matched {
            let old = info.authenticator();
            info.set_users(users.as_ref(), wanted.allow_anonymous, generation);
            let now = info.authenticator();
            for user in users_changed(&old, &now) {
                if !disconnect_users.contains(&user) {
                    disconnect_users.push(user);
                }
            }
            if old.allows_anonymous() && !now.allows_anonymous() {
                anonymous_refused_on.push(info.name.clone());
            }
        }
        for (cell, config, name) in certificates {
            cell.set(config);
            report.certificates_reloaded.push(name);
        }
        report.users_disconnected = disconnect_users.clone();
        let _ = self
            .events
            .send(Event::ReloadAccess {
                acl,
                users_generation: generation,
                disconnect_users,
                anonymous_refused_on,
            })
            .await;
        self.settings.password_file = new.password_file.clone();
        self.settings.acl = new.acl.clone();
        self.settings.protected_topics = new.protected_topics.clone();
        self.settings.open_topics = new.open_topics.clone();
        report.needs_restart.extend(
            self.settings
                .restart_only_changes(new)
                .into_iter()
                .map(String::from),
        );
        Ok(report)
    }
}

fn same_listener(info: &ListenerInfo, wanted: &ListenerSettings) -> bool {
    let same_kind = match (&info.kind, &wanted.kind) {
        // The certificate files may change; the kind and path may not.
        (super::ListenerKind::Tls(_), super::ListenerKind::Tls(_)) => true,
        (super::ListenerKind::Wss { path: a, .. }, super::ListenerKind::Wss { path: b, .. }) => {
            a == b
        }
        (a, b) => a == b,
    };
    *info.name == *wanted.name && same_kind && addr_matches(info, wanted)
}

/// The bound address against the configured one, whose port may be 0 (tests).
fn addr_matches(info: &ListenerInfo, wanted: &ListenerSettings) -> bool {
    info.configured == wanted.addr
}

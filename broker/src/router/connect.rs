//! A CONNECT reaching the router: refused, or given a session (new, resumed or taken over)
//! and answered with CONNACK.

use std::sync::Arc;
use std::time::Instant;

use log::{debug, error, info, warn};

use super::Router;
use crate::auth::ClientAcl;
use crate::codec::v5::{
    ConnackProperties, ConnackReason, Connect, DisconnectReason, Packet, MAX_VARIABLE_BYTE_INTEGER,
};
use crate::connection::disconnect_packet;
use crate::counters::Counters;
use crate::event::ClientIdentity;
use crate::outbox::ConnHandle;
use crate::session::{ClientLimits, ConnId, Connection, Session, SessionKey};
use crate::topic_alias::TOPIC_ALIAS_MAXIMUM;
use crate::will::Will;
use crate::wire::Version;

/// The largest packet MQTT allows: a remaining length of 268,435,455 and its 5-byte header.
const PROTOCOL_MAX_PACKET: usize = MAX_VARIABLE_BYTE_INTEGER as usize + 5;

impl Router {
    fn refuse(handle: &ConnHandle, reason: ConnackReason, why: &str) {
        handle.send_packet(crate::wire::refusing_connack(reason, why));
        handle.close();
    }

    /// The Receive Maximum the broker gives clients: how many QoS 2 PUBLISHes a client may
    /// have unreleased at once, the same bound as the other way.
    pub(super) fn receive_maximum(&self) -> usize {
        self.settings.max_inflight.clamp(1, usize::from(u16::MAX))
    }

    /// The Session Expiry Interval the broker grants for `requested` seconds: at most its
    /// `session_expiry` (none: as asked, 0xFFFFFFFF never expiring).
    pub(super) fn granted_expiry(&self, requested: u32) -> u32 {
        match self.settings.session_expiry {
            Some(cap) => requested.min(u32::try_from(cap.as_secs()).unwrap_or(u32::MAX)),
            None => requested,
        }
    }

    pub(super) fn on_connect(
        &mut self,
        conn: ConnId,
        version: Version,
        connect: Connect,
        identity: ClientIdentity,
        handle: ConnHandle,
    ) {
        if identity.users_generation < self.users_generation {
            // Its password was checked against the users before the reload now in force (the
            // reload came while it was being checked): it may have been removed since. Rare,
            // and a client retries on "server unavailable".
            info!(
                client = connect.client_id.as_str();
                "refused connection from {}: the users were reloaded while its credentials were checked; it may retry client={}",
                identity.peer,
                connect.client_id
            );
            return Self::refuse(
                &handle,
                ConnackReason::ServerUnavailable,
                "users were reloaded while the credentials were checked; try again",
            );
        }
        if connect.client_id.is_empty() && !connect.clean_start && !version.is_v5() {
            // A server-assigned id could never be resumed (MQTT-3.1.3-8); 5.0 allows it.
            info!("refused connection: empty client id with clean session 0 conn={conn}");
            return Self::refuse(
                &handle,
                ConnackReason::ClientIdentifierNotValid,
                "empty client id with clean session 0",
            );
        }
        if let Some(why) = v31_client_id_refusal(version, &connect) {
            info!(
                client = connect.client_id.as_str();
                "refused MQTT 3.1 connection from {}: {why} client={}",
                identity.peer,
                connect.client_id
            );
            return Self::refuse(&handle, ConnackReason::ClientIdentifierNotValid, why);
        }
        let assigned = connect.client_id.is_empty();
        let client_id: Arc<str> = if assigned {
            match self.assign_client_id() {
                Some(id) => id,
                None => {
                    return Self::refuse(
                        &handle,
                        ConnackReason::ServerUnavailable,
                        "no client id could be drawn",
                    )
                }
            }
        } else {
            connect.client_id.as_str().into()
        };
        let access = self
            .acl
            .for_client(identity.username.as_deref(), &client_id);
        if let Some(will) = &connect.will {
            // A will is a publish made later on the client's behalf: refused now, while the
            // client can still be told, rather than dropped silently when it is due.
            if !access.can_write(&will.topic) {
                info!(
                    client = client_id.as_ref();
                    "refused connection: the client may not write its will topic client={client_id} from={} topic={}",
                    identity.peer, will.topic
                );
                Counters::add(&self.counters.connects_refused_auth, 1);
                return Self::refuse(
                    &handle,
                    ConnackReason::NotAuthorized,
                    "not authorised to publish the will topic",
                );
            }
        }
        if !access.unsafe_substitutions().is_empty() {
            warn!(
                client = client_id.as_ref();
                "access rules {:?} use %u or %c, but this client's user name or id holds +, # or / (or is empty): allow rules among them do not apply, deny rules deny everything client={client_id}",
                access.unsafe_substitutions()
            );
        }
        let existing = self.by_client_id.get(&client_id).copied();
        // A session its client left longer ago than its expiry is gone, whether or not the
        // periodic sweep has come round to it.
        if let Some(key) = existing {
            let now = Instant::now();
            if self
                .sessions
                .get(&key)
                .is_some_and(|s| self.has_expired(s, now))
            {
                self.expire(key);
            }
        }
        let existing = self.by_client_id.get(&client_id).copied();
        let takes_over = existing
            .and_then(|k| self.sessions.get(&k))
            .is_some_and(Session::is_connected);
        // A session made by a user belongs to that user: another can neither push its
        // client off nor take up what was queued for it. (A session made anonymously is
        // nobody's, as before users existed, so enabling passwords keeps nodes' sessions.)
        let owner = existing
            .and_then(|k| self.sessions.get(&k))
            .and_then(|s| s.username().cloned());
        if owner.is_some() && owner != identity.username {
            info!(
                client = client_id.as_ref();
                "refused connection: the client id belongs to another user's session client={client_id} from={}",
                identity.peer
            );
            Counters::add(&self.counters.connects_refused_auth, 1);
            return Self::refuse(
                &handle,
                ConnackReason::ClientIdentifierNotValid,
                "the client id belongs to another user's session",
            );
        }
        if !takes_over && self.live.len() >= self.settings.max_clients {
            warn!(
                client = client_id.as_ref();
                "refused connection: {} clients already connected client={client_id}",
                self.live.len()
            );
            return Self::refuse(
                &handle,
                ConnackReason::ServerBusy,
                "the broker has max_clients connected",
            );
        }

        let (clean_start, keep_alive) = (connect.clean_start, connect.keep_alive);
        let requested_expiry = connect.properties.session_expiry_interval.unwrap_or(0);
        let expiry = self.granted_expiry(requested_expiry);
        let mut session_present = false;
        let key = match existing {
            Some(key) => {
                if takes_over {
                    self.take_over(key);
                }
                let resumable = self
                    .sessions
                    .get(&key)
                    .is_some_and(|s| !s.ends_with_connection() && !connect.clean_start);
                if resumable {
                    session_present = true;
                    if let Some(session) = self.sessions.get_mut(&key) {
                        if session.cancel_delayed_will() {
                            debug!("delayed will cancelled: the client is back within its Will Delay Interval client={client_id}");
                        }
                    }
                    key
                } else {
                    // A clean start ends the old session, and with it the wait of a delayed
                    // will.
                    self.end_session(key);
                    self.insert_session(client_id.clone(), expiry)
                }
            }
            None => self.insert_session(client_id.clone(), expiry),
        };
        if let Some(session) = self.sessions.get_mut(&key) {
            session.set_expiry_interval(expiry);
            let dropped =
                session.set_access(identity.username.clone(), identity.listener.clone(), access);
            Counters::add(&self.counters.deliveries_denied, dropped as u64);
        }
        if session_present {
            // Rights may have narrowed since the session was last used (another user, a reload).
            self.drop_forbidden_subscriptions(key);
        }

        let client_limits = client_limits(version, &connect);
        // A will beyond the topic limits is dropped now, as its PUBLISH would be.
        let will = connect
            .will
            .filter(|w| self.topic_within_limits(&w.topic, &client_id, "will"))
            .map(Will::from_connect);
        let connack = self.connack(
            version,
            session_present,
            (expiry < requested_expiry).then_some(expiry),
            assigned.then(|| client_id.to_string()),
        );
        let limits = self.limits();
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        handle.send_packet(connack);
        session.attach(Connection {
            id: conn,
            handle,
            will,
            version,
            users_generation: identity.users_generation,
            client_limits,
        });
        self.live.insert(conn, key);
        self.max_connected = self.max_connected.max(self.live.len());
        if session_present {
            session.resume(limits);
        }
        info!(
            client = client_id.as_ref();
            "client connected client={client_id} conn={conn} from={} listener={}{} mqtt={version} clean_start={clean_start} session_expiry={} keepalive={keep_alive}s session_present={session_present}",
            identity.peer,
            identity.listener,
            identity.username.as_deref().map(|u| format!(" user={u}")).unwrap_or_default(),
            shown_expiry(expiry),
        );
    }

    /// The CONNACK that accepts a client: for MQTT 5, what the broker allows and what it
    /// changed (3.2.2.3); a 3.1.1 client gets only the flag and code of it.
    fn connack(
        &self,
        version: Version,
        session_present: bool,
        lowered_expiry: Option<u32>,
        assigned_client_id: Option<String>,
    ) -> Packet {
        let mut properties = ConnackProperties::default();
        if version.is_v5() {
            properties = ConnackProperties {
                session_expiry_interval: lowered_expiry,
                receive_maximum: u16::try_from(self.receive_maximum())
                    .ok()
                    .filter(|&max| max < u16::MAX),
                maximum_packet_size: (self.settings.max_packet_size < PROTOCOL_MAX_PACKET)
                    .then(|| u32::try_from(self.settings.max_packet_size).unwrap_or(u32::MAX)),
                assigned_client_identifier: assigned_client_id,
                topic_alias_maximum: Some(TOPIC_ALIAS_MAXIMUM),
                // Shared, wildcard and identified subscriptions are all offered: absent
                // means available (3.2.2.3.11 .. 13).
                ..ConnackProperties::default()
            };
        }
        Packet::Connack(crate::codec::v5::Connack {
            // MQTT 3.1's CONNACK has no session present flag: the byte is reserved.
            session_present: session_present && version != Version::V31,
            reason: ConnackReason::Success,
            properties,
        })
    }

    /// An id for a client that sent none: `hearth-` and 64 random bits from the operating
    /// system, so nobody can guess it to push the client off, and never one already in use,
    /// so it cannot take over another client's session. `None` if the operating system has no
    /// randomness to give, which is logged.
    fn assign_client_id(&self) -> Option<Arc<str>> {
        loop {
            let mut random = [0u8; 8];
            if let Err(e) = getrandom::fill(&mut random) {
                error!("refused connection without a client id: cannot draw a random one: {e}");
                return None;
            }
            let candidate = format!("hearth-{:016x}", u64::from_be_bytes(random));
            if !self.by_client_id.contains_key(candidate.as_str()) {
                return Some(candidate.into());
            }
        }
    }

    /// A second CONNECT with the same client id closes the first connection (an MQTT 5 one
    /// told why, 0x8E), and the first connection's will is due as if its network had failed:
    /// at once, or after its delay unless the new connection resumes the session (3.1.4-3).
    fn take_over(&mut self, key: SessionKey) {
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        let client_id = session.client_id().clone();
        let Some(old) = session.detach() else {
            return;
        };
        info!("client taken over by a new connection conn={}", old.id);
        self.live.remove(&old.id);
        if old.version.is_v5() {
            old.handle
                .close_with(disconnect_packet(DisconnectReason::SessionTakenOver));
        } else {
            old.handle.abort();
        }
        if let Some(will) = old.will {
            self.will_due(key, will, &client_id);
        }
    }

    /// A new session; the caller gives it its access rights before anything reaches it.
    fn insert_session(&mut self, client_id: Arc<str>, expiry: u32) -> SessionKey {
        let key = self.new_key();
        self.by_client_id.insert(client_id.clone(), key);
        self.sessions.insert(
            key,
            Session::new(client_id, expiry, ClientAcl::unrestricted())
                .with_journal(self.journal.clone()),
        );
        key
    }
}

/// What an MQTT 5 client said it can take; a 3.1.1 client says nothing.
fn client_limits(version: Version, connect: &Connect) -> ClientLimits {
    if !version.is_v5() {
        return ClientLimits::NONE;
    }
    let p = &connect.properties;
    ClientLimits {
        receive_maximum: p.receive_maximum.map_or(usize::from(u16::MAX), usize::from),
        max_packet_size: p.maximum_packet_size.map_or(usize::MAX, |m| m as usize),
        problem_information: p.request_problem_information.unwrap_or(true),
    }
}

/// A session expiry for the log: seconds, or "never".
fn shown_expiry(seconds: u32) -> String {
    if seconds == u32::MAX {
        "never".into()
    } else {
        format!("{seconds}s")
    }
}

/// Why an MQTT 3.1 client id is refused. MQTT 3.1 (protocol name `MQIsdp`) requires 1 to 23
/// characters and has no server-assigned ids, so an empty one is refused even with clean
/// session, as Mosquitto does; MQTT 3.1.1 lifted both rules.
fn v31_client_id_refusal(version: Version, connect: &Connect) -> Option<&'static str> {
    if version != Version::V31 {
        None
    } else if connect.client_id.is_empty() {
        Some("empty client id (MQTT 3.1 has no server-assigned ids)")
    } else if connect.client_id.chars().count() > 23 {
        Some("client id longer than 23 characters")
    } else {
        None
    }
}

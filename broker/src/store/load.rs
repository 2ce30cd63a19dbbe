//! Reading the store back at start. A row that makes no sense (a QoS of 3, a packet id of 0,
//! a filter that does not validate, properties that do not decode) is left out and counted
//! rather than stopping the broker.
//!
//! A queued or retained message whose Message Expiry Interval ran out while the broker was
//! down is left out too, and removed from the file: it may never be delivered
//! (MQTT-3.3.2-5). One already in flight stays: its onward delivery had started.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rusqlite::{params, Connection};

use super::expiry::Now;
use super::{HeldMessage, Snapshot, StoredSession};
use crate::codec::v5::{PublishProperties, MAX_VARIABLE_BYTE_INTEGER};
use crate::codec::QoS;
use crate::message::Message;
use crate::subscriptions::Grant;

pub(super) fn snapshot(db: &mut Connection) -> rusqlite::Result<Snapshot> {
    let now = Now::read();
    let mut snapshot = Snapshot::default();
    let mut expired = Expired::default();
    read_retained(db, now, &mut snapshot, &mut expired)?;
    read_sessions(db, now, &mut snapshot, &mut expired)?;
    let mut stmt = db.prepare("SELECT name, value FROM counters")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (name, value) = row?;
        match u64::try_from(value) {
            Ok(value) => snapshot.counters.push((name, value)),
            Err(_) => snapshot.skipped_rows += 1,
        }
    }
    drop(stmt);
    snapshot.expired_retained = expired.retained.len();
    snapshot.expired_messages = expired.messages.len();
    expired.remove(db)?;
    Ok(snapshot)
}

/// The rows of messages that expired while the broker was down.
#[derive(Default)]
struct Expired {
    retained: Vec<String>,
    messages: Vec<(String, i64)>,
}

impl Expired {
    fn remove(&self, db: &mut Connection) -> rusqlite::Result<()> {
        if self.retained.is_empty() && self.messages.is_empty() {
            return Ok(());
        }
        let tx = db.transaction()?;
        for topic in &self.retained {
            tx.prepare_cached("DELETE FROM retained WHERE topic = ?1")?
                .execute(params![topic])?;
        }
        for (client_id, seq) in &self.messages {
            tx.prepare_cached("DELETE FROM messages WHERE client_id = ?1 AND seq = ?2")?
                .execute(params![client_id, seq])?;
        }
        tx.commit()
    }
}

fn qos(value: i64) -> Option<QoS> {
    u8::try_from(value).ok().and_then(QoS::from_u8)
}

fn pkid(value: i64) -> Option<u16> {
    u16::try_from(value).ok().filter(|&p| p != 0)
}

/// A stored properties blob: `Some(None)` for none, `None` if it does not decode.
fn properties(blob: Option<Vec<u8>>) -> Option<Option<Arc<PublishProperties>>> {
    match blob {
        None => Some(None),
        Some(blob) => PublishProperties::from_stored(&blob)
            .ok()
            .map(|p| Some(Arc::new(p))),
    }
}

/// A stored session expiry interval: NULL is `u32::MAX`, `None` if out of range.
fn expiry_interval(value: Option<i64>) -> Option<u32> {
    match value {
        None => Some(u32::MAX),
        Some(seconds) => u32::try_from(seconds).ok(),
    }
}

/// A stored Subscription Identifier: `Some(None)` for none, `None` if out of range
/// (3.8.2.1.2: 1 to 268,435,455).
fn subscription_identifier(value: Option<i64>) -> Option<Option<NonZeroU32>> {
    match value {
        None => Some(None),
        Some(id) => u32::try_from(id)
            .ok()
            .filter(|&id| id <= MAX_VARIABLE_BYTE_INTEGER)
            .and_then(NonZeroU32::new)
            .map(Some),
    }
}

fn read_retained(
    db: &Connection,
    now: Now,
    snapshot: &mut Snapshot,
    expired: &mut Expired,
) -> rusqlite::Result<()> {
    let mut stmt =
        db.prepare("SELECT topic, payload, qos, properties, expires_at FROM retained")?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, Vec<u8>>(1)?,
            row.get::<_, i64>(2)?,
            row.get::<_, Option<Vec<u8>>>(3)?,
            row.get::<_, Option<i64>>(4)?,
        ))
    })?;
    for row in rows {
        let (topic, payload, q, blob, expires_at) = row?;
        let expires_at = expires_at.map(|at| now.deadline_of(at));
        match (qos(q), properties(blob)) {
            (Some(q), Some(properties))
                if !payload.is_empty() && mqtt_topic::validate_topic_name(&topic).is_ok() =>
            {
                if passed(expires_at, now.instant) {
                    expired.retained.push(topic);
                    continue;
                }
                snapshot.retained.push(Message {
                    properties,
                    expires_at,
                    ..Message::new(topic, payload, q, true)
                })
            }
            _ => snapshot.skipped_rows += 1,
        }
    }
    Ok(())
}

fn passed(expires_at: Option<Instant>, now: Instant) -> bool {
    expires_at.is_some_and(|at| at <= now)
}

fn read_sessions(
    db: &Connection,
    now: Now,
    snapshot: &mut Snapshot,
    expired: &mut Expired,
) -> rusqlite::Result<()> {
    let mut sessions: HashMap<Arc<str>, StoredSession> = HashMap::new();
    let mut order: Vec<Arc<str>> = Vec::new();
    {
        let mut stmt =
            db.prepare("SELECT client_id, username, offline_since, expiry_interval FROM sessions")?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<i64>>(2)?,
                row.get::<_, Option<i64>>(3)?,
            ))
        })?;
        for row in rows {
            let (client_id, username, offline_since, interval) = row?;
            let Some(expiry_interval) = expiry_interval(interval) else {
                snapshot.skipped_rows += 1;
                continue;
            };
            let client_id: Arc<str> = client_id.into();
            order.push(client_id.clone());
            sessions.insert(
                client_id.clone(),
                StoredSession {
                    client_id,
                    username: username.map(Arc::from),
                    offline_since: offline_since.and_then(|s| u64::try_from(s).ok()),
                    expiry_interval,
                    subscriptions: Vec::new(),
                    messages: Vec::new(),
                    incoming_qos2: Vec::new(),
                },
            );
        }
    }
    {
        let mut stmt = db.prepare(
            "SELECT client_id, filter, qos, no_local, retain_as_published, subscription_identifier
             FROM subscriptions",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, bool>(3)?,
                row.get::<_, bool>(4)?,
                row.get::<_, Option<i64>>(5)?,
            ))
        })?;
        for row in rows {
            let (client_id, filter, q, no_local, retain_as_published, id) = row?;
            match (
                sessions.get_mut(client_id.as_str()),
                qos(q),
                subscription_identifier(id),
            ) {
                (Some(s), Some(qos), Some(id)) if mqtt_topic::validate_filter(&filter).is_ok() => {
                    s.subscriptions.push((
                        filter.into(),
                        Grant {
                            qos,
                            no_local,
                            retain_as_published,
                            id,
                        },
                    ))
                }
                _ => snapshot.skipped_rows += 1,
            }
        }
    }
    {
        let mut stmt = db.prepare(
            "SELECT client_id, seq, pkid, released, qos, retain, from_retained, topic, payload,
                    properties, expires_at
             FROM messages ORDER BY client_id, seq",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok((
                (
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                    row.get::<_, bool>(3)?,
                ),
                (
                    row.get::<_, i64>(4)?,
                    row.get::<_, bool>(5)?,
                    row.get::<_, bool>(6)?,
                ),
                (
                    row.get::<_, String>(7)?,
                    row.get::<_, Vec<u8>>(8)?,
                    row.get::<_, Option<Vec<u8>>>(9)?,
                    row.get::<_, Option<i64>>(10)?,
                ),
            ))
        })?;
        for row in rows {
            let (
                (client_id, seq, pk, released),
                (q, retain, from_retained),
                (topic, payload, blob, expires_at),
            ) = row?;
            let pk = match pk {
                None => Some(None),
                Some(p) => pkid(p).map(Some),
            };
            let expires_at = expires_at.map(|at| now.deadline_of(at));
            let held = match (u64::try_from(seq), pk, qos(q), properties(blob)) {
                (Ok(seq), Some(pkid), Some(qos), Some(properties))
                    if qos != QoS::AtMostOnce
                        && mqtt_topic::validate_topic_name(&topic).is_ok()
                        && (!released || (pkid.is_some() && qos == QoS::ExactlyOnce)) =>
                {
                    Some((
                        seq,
                        HeldMessage {
                            pkid,
                            released,
                            qos,
                            retain,
                            from_retained,
                            topic: topic.into(),
                            payload: Bytes::from(payload),
                            properties,
                            expires_at,
                        },
                    ))
                }
                _ => None,
            };
            match (sessions.get_mut(client_id.as_str()), held) {
                // Queued, never sent: its expiry decides whether it is delivered at all.
                (Some(_), Some((seq, held)))
                    if held.pkid.is_none() && passed(held.expires_at, now.instant) =>
                {
                    expired.messages.push((client_id, seq as i64));
                }
                (Some(s), Some(held)) => s.messages.push(held),
                _ => snapshot.skipped_rows += 1,
            }
        }
    }
    {
        let mut stmt = db.prepare("SELECT client_id, pkid FROM incoming_qos2")?;
        let rows = stmt.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (client_id, p) = row?;
            match (sessions.get_mut(client_id.as_str()), pkid(p)) {
                (Some(s), Some(p)) => s.incoming_qos2.push(p),
                _ => snapshot.skipped_rows += 1,
            }
        }
    }
    snapshot.sessions = order
        .into_iter()
        .filter_map(|id| sessions.remove(&id))
        .collect();
    Ok(())
}

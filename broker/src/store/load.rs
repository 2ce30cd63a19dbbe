//! Reading the store back at start. A row that makes no sense (a QoS of 3, a packet id of 0,
//! a filter that does not validate) is left out and counted rather than stopping the broker.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use rusqlite::Connection;

use super::{HeldMessage, Snapshot, StoredSession};
use crate::codec::QoS;
use crate::message::Message;

pub(super) fn snapshot(db: &Connection) -> rusqlite::Result<Snapshot> {
    let mut snapshot = Snapshot::default();
    read_retained(db, &mut snapshot)?;
    read_sessions(db, &mut snapshot)?;
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
    Ok(snapshot)
}

fn qos(value: i64) -> Option<QoS> {
    u8::try_from(value).ok().and_then(QoS::from_u8)
}

fn pkid(value: i64) -> Option<u16> {
    u16::try_from(value).ok().filter(|&p| p != 0)
}

fn read_retained(db: &Connection, snapshot: &mut Snapshot) -> rusqlite::Result<()> {
    let mut stmt = db.prepare("SELECT topic, payload, qos FROM retained")?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, Vec<u8>>(1)?,
            row.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (topic, payload, q) = row?;
        match qos(q) {
            Some(q) if !payload.is_empty() && mqtt_topic::validate_topic_name(&topic).is_ok() => {
                snapshot
                    .retained
                    .push(Message::new(topic, payload, q, true))
            }
            _ => snapshot.skipped_rows += 1,
        }
    }
    Ok(())
}

fn read_sessions(db: &Connection, snapshot: &mut Snapshot) -> rusqlite::Result<()> {
    let mut sessions: HashMap<Arc<str>, StoredSession> = HashMap::new();
    let mut order: Vec<Arc<str>> = Vec::new();
    {
        let mut stmt = db.prepare("SELECT client_id, username, offline_since FROM sessions")?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<i64>>(2)?,
            ))
        })?;
        for row in rows {
            let (client_id, username, offline_since) = row?;
            let client_id: Arc<str> = client_id.into();
            order.push(client_id.clone());
            sessions.insert(
                client_id.clone(),
                StoredSession {
                    client_id,
                    username: username.map(Arc::from),
                    offline_since: offline_since.and_then(|s| u64::try_from(s).ok()),
                    subscriptions: Vec::new(),
                    messages: Vec::new(),
                    incoming_qos2: Vec::new(),
                },
            );
        }
    }
    {
        let mut stmt = db.prepare("SELECT client_id, filter, qos FROM subscriptions")?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (client_id, filter, q) = row?;
            match (sessions.get_mut(client_id.as_str()), qos(q)) {
                (Some(s), Some(q)) if mqtt_topic::validate_filter(&filter).is_ok() => {
                    s.subscriptions.push((filter.into(), q))
                }
                _ => snapshot.skipped_rows += 1,
            }
        }
    }
    {
        let mut stmt = db.prepare(
            "SELECT client_id, seq, pkid, released, qos, retain, from_retained, topic, payload
             FROM messages ORDER BY client_id, seq",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Option<i64>>(2)?,
                row.get::<_, bool>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, bool>(5)?,
                row.get::<_, bool>(6)?,
                row.get::<_, String>(7)?,
                row.get::<_, Vec<u8>>(8)?,
            ))
        })?;
        for row in rows {
            let (client_id, seq, pk, released, q, retain, from_retained, topic, payload) = row?;
            let pk = match pk {
                None => Some(None),
                Some(p) => pkid(p).map(Some),
            };
            let held = match (u64::try_from(seq), pk, qos(q)) {
                (Ok(seq), Some(pkid), Some(qos))
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
                        },
                    ))
                }
                _ => None,
            };
            match (sessions.get_mut(client_id.as_str()), held) {
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

//! The MQTT 5 properties a `publish` action may set, flat beside `publish` and `payload`:
//! `response_topic`, `correlation_data`, `message_expiry`, `content_type`, `user_properties`.
//! MQTT 3.1.1 subscribers get the message without them.

use std::time::Duration;

use rules::spec::PropertiesSpec;
use rules::template::Template;
use toml::de::DeValue;

use super::action::{parse, template, topic_name, Scope};
use crate::config::error::{excerpt, ErrorSink};
use crate::config::reader::TableReader;

/// The longest string MQTT carries: its length is written in two bytes.
const MAX_STRING_LEN: usize = u16::MAX as usize;

/// The longest Message Expiry Interval MQTT can say, a four-byte count of seconds.
const MAX_EXPIRY: Duration = Duration::from_secs(u32::MAX as u64);

/// Reads the properties of the action `a`; each one that is wrong is reported and left out.
pub(super) fn read(a: &mut TableReader, errs: &mut ErrorSink, scope: &Scope) -> PropertiesSpec {
    PropertiesSpec {
        response_topic: topic_name(a, errs, "response_topic", scope),
        correlation_data: template(a, errs, "correlation_data", scope),
        message_expiry: read_expiry(a, errs),
        content_type: read_content_type(a, errs),
        user_properties: read_user_properties(a, errs, scope),
    }
}

/// `message_expiry = "10m"`: whole seconds, 1 s up to `u32::MAX` s.
fn read_expiry(a: &mut TableReader, errs: &mut ErrorSink) -> Option<Duration> {
    let expiry = a.duration(errs, "message_expiry")?;
    let problem = if expiry.subsec_nanos() != 0 {
        let written = match a.raw("message_expiry").map(|v| v.get_ref()) {
            Some(DeValue::String(text)) => excerpt(text).into_owned(),
            _ => humantime::format_duration(expiry).to_string(),
        };
        let below = expiry.as_secs().max(1);
        format!(
            "\"{written}\" is not whole seconds; MQTT counts a message's expiry in seconds: write \"{below}s\" or \"{}s\"",
            below + 1
        )
    } else if expiry.is_zero() {
        "must be at least 1s; to let a message never expire, remove `message_expiry`".to_string()
    } else if expiry > MAX_EXPIRY {
        format!(
            "must be at most {}s (about 136 years), the longest MQTT can say",
            MAX_EXPIRY.as_secs()
        )
    } else {
        return Some(expiry);
    };
    errs.report(
        &a.key_path("message_expiry"),
        a.span_of("message_expiry"),
        problem,
    );
    None
}

/// `content_type = "application/json"`: plain text, no placeholders.
fn read_content_type(a: &mut TableReader, errs: &mut ErrorSink) -> Option<String> {
    let (text, span) = a.string(errs, "content_type")?;
    let problem = if text.is_empty() {
        "is empty; remove `content_type`, or name the payload's type like \"application/json\""
            .to_string()
    } else {
        match mqtt_string(text) {
            Ok(()) => return Some(text.to_string()),
            Err(why) => why,
        }
    };
    errs.report(&a.key_path("content_type"), span, problem);
    None
}

/// `user_properties = { source = "hearth", room = "{1}" }`: names and templates, in the order
/// written.
fn read_user_properties(
    a: &mut TableReader,
    errs: &mut ErrorSink,
    scope: &Scope,
) -> Vec<(String, Template)> {
    let Some(raw) = a.raw("user_properties") else {
        return Vec::new();
    };
    let path = a.key_path("user_properties");
    let DeValue::Table(table) = raw.get_ref() else {
        errs.report(
            &path,
            raw.span(),
            format!(
                "must be a table, got {}; write user_properties = {{ source = \"hearth\" }}",
                raw.get_ref().type_str()
            ),
        );
        return Vec::new();
    };
    let properties = TableReader::new(table, path, raw.span());
    let mut read = Vec::new();
    for (name, value) in properties.entries() {
        let named = if name.is_empty() {
            Err("a user property needs a name: write it like source = \"hearth\"".to_string())
        } else {
            mqtt_string(name).map_err(|why| format!("the name {:?} {why}", excerpt(name)))
        };
        if let Err(why) = named {
            errs.report(properties.path(), value.span(), why);
            continue;
        }
        let DeValue::String(text) = value.get_ref() else {
            let quoted = match value.get_ref() {
                DeValue::Integer(i) => format!(": {} = \"{i}\"", excerpt(name)),
                DeValue::Float(f) => format!(": {} = \"{f}\"", excerpt(name)),
                DeValue::Boolean(b) => format!(": {} = \"{b}\"", excerpt(name)),
                _ => String::new(),
            };
            errs.report(
                &properties.key_path(name),
                value.span(),
                format!(
                    "must be a string, got {}; write it in quotes{quoted}",
                    value.get_ref().type_str()
                ),
            );
            continue;
        };
        if let Err(why) = mqtt_string(text) {
            errs.report(&properties.key_path(name), value.span(), why);
            continue;
        }
        if let Some(t) = parse(&properties, errs, name, text, value.span(), scope) {
            read.push((name.to_string(), t));
        }
    }
    read
}

/// What MQTT allows in a string: no U+0000 (MQTT-1.5.4-2), at most 65,535 bytes.
fn mqtt_string(text: &str) -> Result<(), String> {
    if text.contains('\0') {
        return Err("contains U+0000, which MQTT does not allow in a string; remove it".into());
    }
    if text.len() > MAX_STRING_LEN {
        return Err(format!(
            "is {} bytes long; MQTT carries at most {MAX_STRING_LEN}",
            text.len()
        ));
    }
    Ok(())
}

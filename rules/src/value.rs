//! From a payload to the value a condition tests: trimmed text, a number if it is one, or a
//! field of a JSON payload.

use std::borrow::Cow;
use std::cell::OnceCell;

use serde_json::Value as Json;

/// Payloads larger than this are ignored: no sensor reading is this big, and parsing one as
/// JSON for every rule would let a single publisher slow the engine down.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// Where a value sits in a JSON payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldPath {
    /// `/AM2301/Temperature` (RFC 6901, as Tasmota nests its readings).
    Pointer(String),
    /// `co2` or `a.b`: object keys (a numeric key also indexes an array).
    Keys(Vec<String>),
}

impl FieldPath {
    pub fn parse(field: &str) -> FieldPath {
        if field.starts_with('/') {
            FieldPath::Pointer(field.to_string())
        } else {
            FieldPath::Keys(field.split('.').map(str::to_string).collect())
        }
    }

    fn find<'j>(&self, json: &'j Json) -> Option<&'j Json> {
        match self {
            FieldPath::Pointer(p) => json.pointer(p),
            FieldPath::Keys(keys) => keys.iter().try_fold(json, |j, key| match j {
                Json::Object(map) => map.get(key),
                Json::Array(items) => items.get(key.parse::<usize>().ok()?),
                _ => None,
            }),
        }
    }
}

/// A message's payload, decoded at most once however many conditions read it.
pub(crate) struct Payload<'a> {
    raw: &'a [u8],
    text: Cow<'a, str>,
    json: OnceCell<Option<Json>>,
}

/// What a condition reads from a payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Value<'p> {
    /// Trimmed payload text; for a JSON field, a string's content or else its JSON text.
    pub text: Cow<'p, str>,
    /// `None` when the text is not a finite number.
    pub number: Option<f64>,
}

impl<'a> Payload<'a> {
    pub fn new(raw: &'a [u8]) -> Payload<'a> {
        let text = match std::str::from_utf8(raw) {
            Ok(s) => Cow::Borrowed(s.trim()),
            Err(_) => Cow::Owned(String::from_utf8_lossy(raw).trim().to_string()),
        };
        Payload {
            raw,
            text,
            json: OnceCell::new(),
        }
    }

    /// The whole payload, trimmed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The value at `field`, or the whole payload without one; `None` when the payload is not
    /// JSON or lacks the field.
    pub fn read(&self, field: Option<&FieldPath>) -> Option<Value<'_>> {
        let Some(field) = field else {
            return Some(Value {
                text: Cow::Borrowed(&self.text),
                number: parse_number(&self.text),
            });
        };
        let json = self
            .json
            .get_or_init(|| serde_json::from_slice(self.raw).ok())
            .as_ref()?;
        Some(match field.find(json)? {
            Json::String(s) => Value {
                text: Cow::Borrowed(s.as_str()),
                number: parse_number(s),
            },
            Json::Number(n) => Value {
                text: Cow::Owned(n.to_string()),
                number: n.as_f64().filter(|v| v.is_finite()),
            },
            other => Value {
                text: Cow::Owned(other.to_string()),
                number: None,
            },
        })
    }
}

/// A finite number (`21.5`, `-3`, `1e3`); NaN and infinities are not readings.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(payload: &str, field: Option<&str>) -> Option<(String, Option<f64>)> {
        let field = field.map(FieldPath::parse);
        let payload = Payload::new(payload.as_bytes());
        payload
            .read(field.as_ref())
            .map(|v| (v.text.into_owned(), v.number))
    }

    /// (payload, field, what is read: text and number)
    type Case = (
        &'static str,
        Option<&'static str>,
        Option<(String, Option<f64>)>,
    );

    #[test]
    fn reading_table() {
        let some = |t: &str, n: Option<f64>| Some((t.to_string(), n));
        let cases: &[Case] = &[
            (" 1042\n", None, some("1042", Some(1042.0))),
            ("-3.5", None, some("-3.5", Some(-3.5))),
            ("1e3", None, some("1e3", Some(1000.0))),
            ("NaN", None, some("NaN", None)),
            ("inf", None, some("inf", None)),
            ("open", None, some("open", None)),
            ("", None, some("", None)),
            (r#"{"co2": 812}"#, Some("co2"), some("812", Some(812.0))),
            (
                r#"{"a": {"b": "21.5"}}"#,
                Some("a.b"),
                some("21.5", Some(21.5)),
            ),
            (
                r#"{"AM2301": {"Temperature": 20.1}}"#,
                Some("/AM2301/Temperature"),
                some("20.1", Some(20.1)),
            ),
            (r#"{"on": true}"#, Some("on"), some("true", None)),
            (r#"{"s": "open"}"#, Some("s"), some("open", None)),
            (r#"{"v": [1, 2]}"#, Some("v.1"), some("2", Some(2.0))),
            (r#"{"co2": 812}"#, Some("temp"), None),
            ("812", Some("co2"), None),
            ("not json", Some("co2"), None),
        ];
        for (payload, field, want) in cases {
            assert_eq!(read(payload, *field), *want, "{payload:?} field {field:?}");
        }
    }

    #[test]
    fn invalid_utf8_is_read_lossily() {
        let payload = Payload::new(b"\xff12");
        assert_eq!(payload.text(), "\u{fffd}12");
    }
}

//! MQTT 5 properties a rule's `publish` may give its message: where a device should answer
//! and with what to tag the answer (response topic, correlation data), how long the message
//! is worth delivering, its content type, and name/value pairs (user properties).
//!
//! The engine only fills their templates, like the topic's and the payload's; what MQTT makes
//! of them is the broker's business, so this crate names no broker type.

use std::fmt;
use std::time::Duration;

use crate::condition::human;
use crate::template::{Context, Template};

/// The properties as configured: templates where the value may depend on the firing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PropertiesSpec {
    /// Where the receiver should publish its answer; a topic name once rendered.
    pub response_topic: Option<Template>,
    /// Sent as the UTF-8 bytes of the rendered text.
    pub correlation_data: Option<Template>,
    /// Whole seconds, 1 s to `u32::MAX` s (the configuration reader checks).
    pub message_expiry: Option<Duration>,
    pub content_type: Option<String>,
    /// In the order written; names are not empty.
    pub user_properties: Vec<(String, Template)>,
}

/// The properties of one firing's message, templates rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    pub response_topic: Option<String>,
    pub correlation_data: Option<String>,
    pub message_expiry: Option<Duration>,
    pub content_type: Option<String>,
    pub user_properties: Vec<(String, String)>,
}

impl PropertiesSpec {
    pub fn render(&self, cx: &Context) -> Properties {
        Properties {
            response_topic: self.response_topic.as_ref().map(|t| t.render(cx)),
            correlation_data: self.correlation_data.as_ref().map(|t| t.render(cx)),
            message_expiry: self.message_expiry,
            content_type: self.content_type.clone(),
            user_properties: self
                .user_properties
                .iter()
                .map(|(name, value)| (name.clone(), value.render(cx)))
                .collect(),
        }
    }
}

impl Properties {
    /// Whether none is set: the message is what an MQTT 3.1.1 client could have sent.
    pub fn is_empty(&self) -> bool {
        *self == Properties::default()
    }
}

impl fmt::Display for Properties {
    /// `response topic a/b, correlation data "x", expires after 10m, content type text/plain,
    /// user properties source="hearth" room="Kitchen"`; empty when none is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(topic) = &self.response_topic {
            parts.push(format!("response topic {topic}"));
        }
        if let Some(data) = &self.correlation_data {
            parts.push(format!("correlation data {data:?}"));
        }
        if let Some(expiry) = self.message_expiry {
            parts.push(format!("expires after {}", human(expiry)));
        }
        if let Some(content_type) = &self.content_type {
            parts.push(format!("content type {content_type}"));
        }
        if !self.user_properties.is_empty() {
            let pairs: Vec<String> = self
                .user_properties
                .iter()
                .map(|(name, value)| format!("{name}={value:?}"))
                .collect();
            parts.push(format!("user properties {}", pairs.join(" ")));
        }
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(source: &str) -> Template {
        Template::parse(source).unwrap_or_else(|e| panic!("{source}: {e}"))
    }

    fn render(spec: &PropertiesSpec, captures: &[&str], value: &str) -> Properties {
        let captures: Vec<String> = captures.iter().map(|s| s.to_string()).collect();
        spec.render(&Context {
            captures: &captures,
            value,
            rule: "ask heater",
            topic: "Kitchen/Node/status",
        })
    }

    #[test]
    fn templates_in_properties_are_rendered_like_topics_and_payloads() {
        let spec = PropertiesSpec {
            response_topic: Some(template("hearth/replies/{1}/{rule}")),
            correlation_data: Some(template("{1}-{value}")),
            message_expiry: Some(Duration::from_secs(600)),
            content_type: Some("text/plain".into()),
            user_properties: vec![
                ("source".into(), template("hearth")),
                ("room".into(), template("{1}")),
                ("cause".into(), template("{topic}")),
            ],
        };
        // (captures, value, response topic, correlation data, user properties)
        type Case<'a> = (&'a [&'a str], &'a str, &'a str, &'a str, [&'a str; 3]);
        let cases: &[Case] = &[
            (
                &["Kitchen"],
                "online",
                "hearth/replies/Kitchen/ask heater",
                "Kitchen-online",
                ["hearth", "Kitchen", "Kitchen/Node/status"],
            ),
            (
                &["Bad/room"],
                "ü",
                "hearth/replies/Bad/room/ask heater",
                "Bad/room-ü",
                ["hearth", "Bad/room", "Kitchen/Node/status"],
            ),
            // A capture the firing lacks renders empty, as in any template.
            (
                &[],
                "",
                "hearth/replies//ask heater",
                "-",
                ["hearth", "", "Kitchen/Node/status"],
            ),
        ];
        for (captures, value, response_topic, correlation, user) in cases {
            let got = render(&spec, captures, value);
            let names = ["source", "room", "cause"];
            let want = Properties {
                response_topic: Some(response_topic.to_string()),
                correlation_data: Some(correlation.to_string()),
                message_expiry: Some(Duration::from_secs(600)),
                content_type: Some("text/plain".into()),
                user_properties: names
                    .iter()
                    .zip(user)
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
            };
            assert_eq!(got, want, "captures {captures:?}, value {value:?}");
        }
    }

    #[test]
    fn no_properties_render_to_none() {
        let got = render(&PropertiesSpec::default(), &["Kitchen"], "1");
        assert!(got.is_empty());
        assert_eq!(got.to_string(), "");
    }

    #[test]
    fn display_table() {
        let cases: &[(Properties, &str)] = &[
            (
                Properties {
                    response_topic: Some("r/Kitchen".into()),
                    ..Properties::default()
                },
                "response topic r/Kitchen",
            ),
            (
                Properties {
                    correlation_data: Some("id \"1\"".into()),
                    message_expiry: Some(Duration::from_secs(90)),
                    ..Properties::default()
                },
                r#"correlation data "id \"1\"", expires after 1m 30s"#,
            ),
            (
                Properties {
                    response_topic: Some("r".into()),
                    correlation_data: Some("c".into()),
                    message_expiry: Some(Duration::from_secs(600)),
                    content_type: Some("text/plain".into()),
                    user_properties: vec![
                        ("source".into(), "hearth".into()),
                        ("room".into(), "Kitchen".into()),
                    ],
                },
                r#"response topic r, correlation data "c", expires after 10m, content type text/plain, user properties source="hearth" room="Kitchen""#,
            ),
        ];
        for (properties, want) in cases {
            assert_eq!(properties.to_string(), *want);
            assert!(!properties.is_empty());
        }
    }
}

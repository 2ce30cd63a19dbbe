//! Text with placeholders, for the topics, payloads and messages of rule actions.
//!
//! `{1}`, `{2}`, ... are the captures of the rule's `+`/`#` wildcards; `{value}`, `{rule}`
//! and `{topic}` are the value, the rule's name and the topic that triggered it. Only a brace
//! followed by letters, digits or `_` and a closing brace is a placeholder, so JSON payloads
//! such as `{"POWER":"ON"}` need no escaping; `{{` and `}}` write a literal brace when needed.

use std::fmt;

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// 1-based capture index.
    Capture(usize),
    Value,
    Rule,
    Topic,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    #[error("unknown placeholder {{{0}}}; use {{1}}, {{2}}, ... for wildcard captures, or {{value}}, {{rule}}, {{topic}}")]
    UnknownPlaceholder(String),
    #[error("{{0}} is not a capture; captures are numbered from {{1}}")]
    CaptureZero,
}

/// What a template is rendered with.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub captures: &'a [String],
    pub value: &'a str,
    pub rule: &'a str,
    pub topic: &'a str,
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = source;
        while let Some(c) = rest.chars().next() {
            if rest.starts_with("{{") || rest.starts_with("}}") {
                text.push(c);
                rest = &rest[2..];
                continue;
            }
            if c == '{' {
                if let Some(name) = placeholder_at(rest) {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(piece_for(name)?);
                    rest = &rest[name.len() + 2..];
                    continue;
                }
            }
            text.push(c);
            rest = &rest[c.len_utf8()..];
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template {
            source: source.to_string(),
            pieces,
        })
    }

    /// The highest capture index used, 0 if none: checked against the filter's wildcards.
    pub fn max_capture(&self) -> usize {
        self.pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Capture(n) => Some(*n),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Whether the template has no placeholders (so it can be checked when the config is read).
    pub fn as_literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Text(t)] => Some(t),
            _ => None,
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Fills the placeholders; a capture the context lacks renders empty.
    pub fn render(&self, cx: &Context) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Capture(n) => {
                    if let Some(c) = cx.captures.get(n - 1) {
                        out.push_str(c);
                    }
                }
                Piece::Value => out.push_str(cx.value),
                Piece::Rule => out.push_str(cx.rule),
                Piece::Topic => out.push_str(cx.topic),
            }
        }
        out
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// The name inside `{name}` at the start of `s`, if `s` starts with a placeholder.
fn placeholder_at(s: &str) -> Option<&str> {
    let inner = &s[1..];
    let end = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    (end > 0 && inner[end..].starts_with('}')).then(|| &inner[..end])
}

fn piece_for(name: &str) -> Result<Piece, TemplateError> {
    match name {
        "value" => Ok(Piece::Value),
        "rule" => Ok(Piece::Rule),
        "topic" => Ok(Piece::Topic),
        digits if digits.bytes().all(|b| b.is_ascii_digit()) => match digits.parse::<usize>() {
            Ok(0) => Err(TemplateError::CaptureZero),
            Ok(n) => Ok(Piece::Capture(n)),
            Err(_) => Err(TemplateError::UnknownPlaceholder(name.to_string())),
        },
        other => Err(TemplateError::UnknownPlaceholder(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str, captures: &[&str]) -> String {
        let captures: Vec<String> = captures.iter().map(|s| s.to_string()).collect();
        let cx = Context {
            captures: &captures,
            value: "1042",
            rule: "co2",
            topic: "Kitchen/AirQuality/co2",
        };
        Template::parse(source)
            .map(|t| t.render(&cx))
            .unwrap_or_default()
    }

    #[test]
    fn rendering_table() {
        let cases: &[(&str, &[&str], &str)] = &[
            ("{1}/Purifier/set", &["Kitchen"], "Kitchen/Purifier/set"),
            ("{1}/{2}", &["a", "b/c"], "a/b/c"),
            ("{value} ppm", &[], "1042 ppm"),
            ("{rule} on {topic}", &[], "co2 on Kitchen/AirQuality/co2"),
            (r#"{"POWER":"ON"}"#, &[], r#"{"POWER":"ON"}"#),
            ("{{1}}", &["x"], "{1}"),
            ("{ value }", &[], "{ value }"),
            ("{2}", &["only-one"], ""),
            ("plain", &[], "plain"),
            ("", &[], ""),
            ("ü{1}ß", &["x"], "üxß"),
            ("{", &[], "{"),
        ];
        for (source, captures, want) in cases {
            assert_eq!(render(source, captures), *want, "template {source:?}");
        }
    }

    #[test]
    fn unknown_placeholders_and_capture_zero_are_refused() {
        assert_eq!(
            Template::parse("{vaule}"),
            Err(TemplateError::UnknownPlaceholder("vaule".into()))
        );
        assert_eq!(Template::parse("{0}/x"), Err(TemplateError::CaptureZero));
    }

    #[test]
    fn max_capture_and_literal() {
        let t = Template::parse("{1}/x/{3}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.max_capture(), 3);
        assert_eq!(t.as_literal(), None);
        let t = Template::parse("ON").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.as_literal(), Some("ON"));
        assert_eq!(t.max_capture(), 0);
    }
}

//! A typed reader over a parsed TOML table that keeps going after an error.
//!
//! Serde stops at the first problem; a user fixing a file wants them all at once, each with
//! its key path and line. Each getter records what it could not accept and returns `None`,
//! and `finish` reports every key nobody asked for as unknown.

use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::error::ErrorSink;

pub(crate) struct TableReader<'t, 'i> {
    table: &'t DeTable<'i>,
    path: String,
    known: Vec<&'static str>,
}

impl<'t, 'i> TableReader<'t, 'i> {
    pub(crate) fn new(table: &'t DeTable<'i>, path: impl Into<String>) -> Self {
        Self {
            table,
            path: path.into(),
            known: Vec::new(),
        }
    }

    /// The dotted path of `key` inside this table.
    pub(crate) fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn value(&mut self, key: &'static str) -> Option<&'t Spanned<DeValue<'i>>> {
        self.known.push(key);
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    fn wrong_type(&self, errs: &mut ErrorSink, key: &str, v: &Spanned<DeValue>, want: &str) {
        let got = v.get_ref().type_str();
        errs.report(
            &self.key_path(key),
            v.span(),
            format!("must be {want}, got {got}"),
        );
    }

    pub(crate) fn string(
        &mut self,
        errs: &mut ErrorSink,
        key: &'static str,
    ) -> Option<(&'t str, Range<usize>)> {
        let v = self.value(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some((s.as_ref(), v.span())),
            _ => {
                self.wrong_type(errs, key, v, "a string");
                None
            }
        }
    }

    /// An integer within `range`, converted to `T`.
    pub(crate) fn integer<T>(
        &mut self,
        errs: &mut ErrorSink,
        key: &'static str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<T>
    where
        T: TryFrom<i64>,
    {
        let v = self.value(key)?;
        let DeValue::Integer(i) = v.get_ref() else {
            self.wrong_type(errs, key, v, "an integer");
            return None;
        };
        let parsed = i64::from_str_radix(i.as_str(), i.radix()).ok();
        match parsed.filter(|n| range.contains(n)) {
            Some(n) => T::try_from(n).ok(),
            None => {
                errs.report(
                    &self.key_path(key),
                    v.span(),
                    format!(
                        "must be between {} and {}, got {i}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    /// A duration written like `"30s"`, `"2m"` or `"1h 30m"`.
    pub(crate) fn duration(&mut self, errs: &mut ErrorSink, key: &'static str) -> Option<Duration> {
        let (text, span) = self.string(errs, key)?;
        match humantime::parse_duration(text) {
            Ok(d) => Some(d),
            Err(_) => {
                errs.report(
                    &self.key_path(key),
                    span,
                    format!(
                        "\"{text}\" is not a duration; write it like \"10s\", \"2m\" or \"1h\""
                    ),
                );
                None
            }
        }
    }

    /// A string parsed with `FromStr`; `what` and `example` make the error message.
    pub(crate) fn parsed<T: FromStr>(
        &mut self,
        errs: &mut ErrorSink,
        key: &'static str,
        what: &str,
        example: &str,
    ) -> Option<T> {
        let (text, span) = self.string(errs, key)?;
        match text.parse() {
            Ok(v) => Some(v),
            Err(_) => {
                errs.report(
                    &self.key_path(key),
                    span,
                    format!("\"{text}\" is not {what}; write it like \"{example}\""),
                );
                None
            }
        }
    }

    /// A number; integers are accepted where a float is expected (`offset = 1`).
    pub(crate) fn float(&mut self, errs: &mut ErrorSink, key: &'static str) -> Option<f64> {
        let v = self.value(key)?;
        let parsed = match v.get_ref() {
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            _ => {
                self.wrong_type(errs, key, v, "a number");
                return None;
            }
        };
        match parsed.filter(|f| f.is_finite()) {
            Some(f) => Some(f),
            None => {
                errs.report(&self.key_path(key), v.span(), "must be a finite number");
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, errs: &mut ErrorSink, key: &'static str) -> Option<bool> {
        let v = self.value(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(errs, key, v, "true or false");
                None
            }
        }
    }

    /// The raw value and where it is, for keys that accept more than one type
    /// (`bus = 1` or `bus = "sim"`).
    pub(crate) fn raw(&mut self, key: &'static str) -> Option<&'t Spanned<DeValue<'i>>> {
        self.value(key)
    }

    /// Where `key`'s value is in the file (for errors found after reading, such as duplicates).
    pub(crate) fn span_of(&self, key: &str) -> Range<usize> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map_or(0..0, |(_, v)| v.span())
    }

    /// An array of tables (`[[sensor]]`), each read with the path `sensor[i]`.
    pub(crate) fn array_of_tables(
        &mut self,
        errs: &mut ErrorSink,
        key: &'static str,
    ) -> Vec<TableReader<'t, 'i>> {
        let Some(v) = self.value(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(errs, key, v, "an array of tables ([[...]])");
            return Vec::new();
        };
        let mut tables = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}[{i}]", self.key_path(key));
            match item.get_ref() {
                DeValue::Table(t) => tables.push(TableReader::new(t, path)),
                other => errs.report(
                    &path,
                    item.span(),
                    format!("must be a table, got {}", other.type_str()),
                ),
            }
        }
        tables
    }

    /// A sub-table (`[broker]`); absent is fine, anything else is an error.
    pub(crate) fn table(
        &mut self,
        errs: &mut ErrorSink,
        key: &'static str,
    ) -> Option<TableReader<'t, 'i>> {
        let path = self.key_path(key);
        let v = self.value(key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(TableReader::new(t, path)),
            _ => {
                self.wrong_type(errs, key, v, "a table");
                None
            }
        }
    }

    /// Reports every key of this table that no getter asked for.
    pub(crate) fn finish(self, errs: &mut ErrorSink) {
        for (key, value) in self.table.iter() {
            let name = key.get_ref().as_ref();
            if !self.known.contains(&name) {
                let expected = if self.known.is_empty() {
                    String::from("this table takes no keys")
                } else {
                    let mut keys: Vec<&str> = Vec::new();
                    for k in &self.known {
                        if !keys.contains(k) {
                            keys.push(k);
                        }
                    }
                    format!("expected one of: {}", keys.join(", "))
                };
                let span = if key.span().is_empty() {
                    value.span()
                } else {
                    key.span()
                };
                errs.report(
                    &self.key_path(name),
                    span,
                    format!("unknown key `{name}`; {expected}"),
                );
            }
        }
    }
}

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

use super::error::{excerpt, ErrorSink};

pub(crate) struct TableReader<'t, 'i> {
    table: &'t DeTable<'i>,
    path: String,
    /// Where the table is, so a missing key can still be reported with a line.
    span: Range<usize>,
    known: Vec<&'static str>,
}

impl<'t, 'i> TableReader<'t, 'i> {
    pub(crate) fn new(table: &'t DeTable<'i>, path: impl Into<String>, span: Range<usize>) -> Self {
        Self {
            table,
            path: path.into(),
            span,
            known: Vec::new(),
        }
    }

    /// The table's own path, such as `rule[2]` or `rule[0].all[1]`.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Where the table is in the file: the line of errors about the table as a whole.
    pub(crate) fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// Whether `key` is present, without reading it (to choose between forms of a table).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.table.iter().any(|(k, _)| k.get_ref().as_ref() == key)
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

    /// A string that must be present; `owner` names the table in the message (`[[sensor]]`).
    pub(crate) fn required_string(
        &mut self,
        errs: &mut ErrorSink,
        key: &'static str,
        owner: &str,
    ) -> Option<(&'t str, Range<usize>)> {
        if !self.has(key) {
            self.known.push(key);
            errs.report(
                &self.key_path(key),
                self.span(),
                format!("missing; every {owner} needs a `{key}`"),
            );
            return None;
        }
        self.string(errs, key)
    }

    /// A string or an array of strings (`equals = "ON"` or `equals = ["ON", "on"]`).
    /// `hint` follows the message when an element is not a string.
    pub(crate) fn strings(
        &mut self,
        errs: &mut ErrorSink,
        key: &'static str,
        hint: &str,
    ) -> Option<(Vec<String>, Range<usize>)> {
        let v = self.value(key)?;
        let items: Vec<&Spanned<DeValue>> = match v.get_ref() {
            DeValue::Array(items) => items.iter().collect(),
            _ => vec![v],
        };
        let mut out = Vec::new();
        for item in items {
            match item.get_ref() {
                DeValue::String(s) => out.push(s.to_string()),
                other => {
                    let got = other.type_str();
                    errs.report(
                        &self.key_path(key),
                        item.span(),
                        format!("must be a string or an array of strings, got {got}; {hint}"),
                    );
                    return None;
                }
            }
        }
        Some((out, v.span()))
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
                        "must be between {} and {}, got {}",
                        range.start(),
                        range.end(),
                        excerpt(&i.to_string())
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
                        "\"{}\" is not a duration; write it like \"10s\", \"2m\" or \"1h\"",
                        excerpt(text)
                    ),
                );
                None
            }
        }
    }

    /// A size in bytes written like `"64MB"`, `"512kB"` or `"1GiB"` (kB, MB, GB are powers of
    /// 1000; KiB, MiB, GiB of 1024), within `range`.
    pub(crate) fn size(
        &mut self,
        errs: &mut ErrorSink,
        key: &'static str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Option<u64> {
        let (text, span) = self.string(errs, key)?;
        match parse_size(text).filter(|n| range.contains(n)) {
            Some(n) => Some(n),
            None => {
                errs.report(
                    &self.key_path(key),
                    span,
                    format!(
                        "\"{}\" is not a size between {} and {} bytes; write it like \"64MB\" or \"512kB\"",
                        excerpt(text),
                        range.start(),
                        range.end()
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
                    format!(
                        "\"{}\" is not {what}; write it like \"{example}\"",
                        excerpt(text)
                    ),
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

    /// Every key of a table whose keys are the user's to choose (`user_properties`), with its
    /// value, in the order written (the parsed table keeps them sorted).
    pub(crate) fn entries(&self) -> Vec<(&'t str, &'t Spanned<DeValue<'i>>)> {
        let mut entries: Vec<_> = self
            .table
            .iter()
            .map(|(k, v)| (k.get_ref().as_ref(), v))
            .collect();
        entries.sort_by_key(|(_, v)| v.span().start);
        entries
    }

    /// Where `key`'s value is in the file (for errors found after reading, such as duplicates).
    pub(crate) fn span_of(&self, key: &str) -> Range<usize> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map_or(0..0, |(_, v)| v.span())
    }

    /// An array of tables (`[[sensor]]`, or `all = [{...}, {...}]`), each read with the path
    /// `key[i]`.
    pub(crate) fn array_of_tables(
        &mut self,
        errs: &mut ErrorSink,
        key: &'static str,
    ) -> Vec<TableReader<'t, 'i>> {
        let Some(v) = self.value(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(errs, key, v, "an array of tables");
            return Vec::new();
        };
        self.tables_of(errs, key, items)
    }

    /// One table or an array of them (`on_enter = {...}` or `on_enter = [{...}, {...}]`); a
    /// single table keeps the path `key`, array elements get `key[i]`.
    pub(crate) fn tables(
        &mut self,
        errs: &mut ErrorSink,
        key: &'static str,
    ) -> Vec<TableReader<'t, 'i>> {
        let Some(v) = self.value(key) else {
            return Vec::new();
        };
        match v.get_ref() {
            DeValue::Table(t) => vec![TableReader::new(t, self.key_path(key), v.span())],
            DeValue::Array(items) => self.tables_of(errs, key, items),
            _ => {
                self.wrong_type(errs, key, v, "a table or an array of tables");
                Vec::new()
            }
        }
    }

    fn tables_of(
        &self,
        errs: &mut ErrorSink,
        key: &str,
        items: &'t [Spanned<DeValue<'i>>],
    ) -> Vec<TableReader<'t, 'i>> {
        let mut tables = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}[{i}]", self.key_path(key));
            match item.get_ref() {
                DeValue::Table(t) => tables.push(TableReader::new(t, path, item.span())),
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
            DeValue::Table(t) => Some(TableReader::new(t, path, v.span())),
            _ => {
                self.wrong_type(errs, key, v, "a table");
                None
            }
        }
    }

    /// Treats `keys` as known without reading them: when the key that decides which others
    /// apply is wrong (an unknown driver), its companions are not reported as unknown too.
    pub(crate) fn accept(&mut self, keys: &[&'static str]) {
        self.known.extend_from_slice(keys);
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
                let name = excerpt(name);
                errs.report(
                    &self.key_path(&name),
                    span,
                    format!("unknown key `{name}`; {expected}"),
                );
            }
        }
    }
}

/// `"64MB"` as 64,000,000 bytes; see [`TableReader::size`].
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" => 1000,
        "MB" => 1000 * 1000,
        "GB" => 1000 * 1000 * 1000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(factor)
}

#[cfg(test)]
mod size_tests {
    use super::parse_size;

    #[test]
    fn sizes_read_with_their_units() {
        assert_eq!(parse_size("64MB"), Some(64_000_000));
        assert_eq!(parse_size("512 kB"), Some(512_000));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("100"), Some(100));
        for bad in ["", "MB", "12 parsecs", "-1MB", "1.5MB"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }
}

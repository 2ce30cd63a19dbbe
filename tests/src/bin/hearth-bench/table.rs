//! Renders result rows as an aligned plain-text table or as markdown.

use crate::stats::ScenarioResult;

/// Rows of text cells under headers; the first `text_columns` columns are left-aligned, the
/// others (numbers) right-aligned. Notes are footnotes the cells refer to as `[n]`.
pub struct Table {
    pub headers: Vec<&'static str>,
    pub text_columns: usize,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
}

impl Table {
    pub fn new(headers: &[&'static str], text_columns: usize) -> Self {
        Table {
            headers: headers.to_vec(),
            text_columns,
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a footnote (once, however many cells refer to it) and returns its marker,
    /// ` [n]`, for a cell to end with.
    pub fn note(&mut self, note: String) -> String {
        let n = match self.notes.iter().position(|seen| *seen == note) {
            Some(i) => i + 1,
            None => {
                self.notes.push(note);
                self.notes.len()
            }
        };
        format!(" [{n}]")
    }

    /// Adds a row; each of `notes` is referred to from the row's last text cell. Missing
    /// cells are left empty, extra ones dropped.
    pub fn row(&mut self, mut cells: Vec<String>, notes: &[String]) {
        cells.resize(self.headers.len(), String::new());
        if let Some(at) = self.text_columns.checked_sub(1) {
            for note in notes {
                let marker = self.note(note.clone());
                if let Some(cell) = cells.get_mut(at) {
                    cell.push_str(&marker);
                }
            }
        }
        self.rows.push(cells);
    }

    fn widths(&self) -> Vec<usize> {
        self.headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                self.rows
                    .iter()
                    .map(|row| row.get(i).map_or(0, String::len))
                    .fold(h.len(), usize::max)
            })
            .collect()
    }

    fn footnotes(&self) -> String {
        self.notes
            .iter()
            .enumerate()
            .map(|(i, n)| format!("[{}] {n}\n", i + 1))
            .collect()
    }

    /// Plain table, columns separated by two spaces.
    pub fn plain(&self) -> String {
        let widths = self.widths();
        let header: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        let mut out = String::new();
        for row in std::iter::once(&header)
            .chain([&rule])
            .chain(self.rows.iter())
        {
            let line: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, cell)| {
                    if i < self.text_columns {
                        format!("{cell:<w$}", w = widths[i])
                    } else {
                        format!("{cell:>w$}", w = widths[i])
                    }
                })
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out + &self.footnotes()
    }

    /// GitHub-flavoured markdown table with numeric columns right-aligned.
    pub fn markdown(&self) -> String {
        let align: Vec<&str> = (0..self.headers.len())
            .map(|i| if i < self.text_columns { "---" } else { "---:" })
            .collect();
        let mut out = format!(
            "| {} |\n| {} |\n",
            self.headers.join(" | "),
            align.join(" | ")
        );
        for row in &self.rows {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        if !self.notes.is_empty() {
            out.push('\n');
            out.push_str(&self.footnotes());
        }
        out
    }

    /// The plain table, and the markdown one too if asked for.
    pub fn print(&self, markdown: bool) {
        print!("{}", self.plain());
        if markdown {
            println!();
            print!("{}", self.markdown());
        }
    }
}

/// The throughput scenarios' table.
pub fn scenarios(rows: &[ScenarioResult]) -> Table {
    let mut table = Table::new(
        &[
            "broker",
            "mqtt",
            "scenario",
            "sent",
            "delivered",
            "loss",
            "dup",
            "msgs/s",
            "p50 us",
            "p99 us",
        ],
        3,
    );
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    for r in rows {
        let mut scenario = r.scenario.clone();
        for note in &r.notes {
            scenario.push_str(&table.note(note.clone()));
        }
        table.rows.push(vec![
            r.broker.clone(),
            r.protocol.clone(),
            scenario,
            r.sent.to_string(),
            r.delivered.to_string(),
            r.loss().to_string(),
            r.duplicates.to_string(),
            r.rate.map_or("-".to_string(), |v| format!("{v:.0}")),
            opt(r.p50_us),
            opt(r.p99_us),
        ]);
    }
    table
}

/// A count per second, or `-`.
pub fn rate(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.0}"))
}

/// Milliseconds with `decimals` places, or `-`.
pub fn ms(v: Option<f64>, decimals: usize) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.decimals$}"))
}

/// `hearth / mosquitto` as `0.00x`, or `n/a` when either is missing or the divisor is zero.
pub fn ratio(hearth: Option<f64>, mosquitto: Option<f64>) -> String {
    match (hearth, mosquitto) {
        (Some(h), Some(m)) if m > 0.0 => format!("{:.2}x", h / m),
        _ => "n/a".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_notes_and_alignment() {
        let mut row = ScenarioResult::empty("mosquitto", "QoS0 1->1");
        row.protocol = "5.0".to_string();
        row.sent = 10;
        row.expected = 10;
        row.delivered = 9;
        row.notes.push("drain hit the scenario timeout".into());
        let table = scenarios(&[row]);
        let text = table.plain();
        assert!(text.contains("QoS0 1->1 [1]"));
        assert!(text.contains("[1] drain hit the scenario timeout"));
        let md = table.markdown();
        assert!(md.starts_with("| broker | mqtt | scenario |"));
        assert!(md.contains("| mosquitto | 5.0 | QoS0 1->1 [1] | 10 | 9 | 1 | 0 | - | - | - |"));
    }

    #[test]
    fn notes_are_numbered_once_and_numbers_right_aligned() {
        let mut table = Table::new(&["broker", "case", "n/s"], 2);
        let note = "cannot read argon2id".to_string();
        table.row(
            vec!["mosquitto".into(), "a".into(), "-".into()],
            std::slice::from_ref(&note),
        );
        table.row(vec!["hearth".into(), "b".into(), "150".into()], &[note]);
        let plain = table.plain();
        assert!(plain.contains("a [1]"), "{plain}");
        assert!(plain.contains("b [1]"), "{plain}");
        assert_eq!(plain.matches("[1] cannot read argon2id").count(), 1);
        assert!(plain.contains("hearth     b [1]  150"), "{plain}");
        let md = table.markdown();
        assert!(md.starts_with("| broker | case | n/s |\n| --- | --- | ---: |\n"));
        assert_eq!(ratio(Some(3.0), Some(2.0)), "1.50x");
        assert_eq!(ratio(Some(3.0), None), "n/a");
    }

    #[test]
    fn text_left_numbers_right() {
        let mut table = Table::new(&["name", "n"], 1);
        table.rows.push(vec!["a".into(), "1".into()]);
        table.rows.push(vec!["bbb".into(), "100".into()]);
        let text = table.plain();
        assert!(text.contains("\na       1\n"), "{text}");
        assert!(text.contains("\nbbb   100\n"), "{text}");
    }
}

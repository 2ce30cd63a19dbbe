//! A table of text cells rendered like `table.rs` renders `compare`'s: aligned plain text, or
//! markdown; the first `text_columns` are left-aligned, the rest are numbers, and notes are
//! numbered footnotes.

pub struct Grid {
    headers: Vec<String>,
    text_columns: usize,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl Grid {
    pub fn new(headers: &[&str], text_columns: usize) -> Grid {
        Grid {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            text_columns,
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a row; each of `notes` gets a footnote number appended to the row's last text
    /// cell. Missing cells are left empty, extra ones dropped.
    pub fn row(&mut self, mut cells: Vec<String>, notes: &[String]) {
        cells.resize(self.headers.len(), String::new());
        let at = self.text_columns.saturating_sub(1).min(cells.len() - 1);
        for note in notes {
            let n = match self.notes.iter().position(|seen| seen == note) {
                Some(i) => i + 1,
                None => {
                    self.notes.push(note.clone());
                    self.notes.len()
                }
            };
            cells[at].push_str(&format!(" [{n}]"));
        }
        self.rows.push(cells);
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
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|row| row[i].len())
                    .fold(self.headers[i].len(), usize::max)
            })
            .collect();
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        let mut out = String::new();
        for row in [&self.headers, &rule].into_iter().chain(&self.rows) {
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

    /// GitHub-flavoured markdown, numeric columns right-aligned.
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

    /// The plain table, and the markdown one after it if asked.
    pub fn print(&self, markdown: bool) {
        print!("{}", self.plain());
        if markdown {
            println!();
            print!("{}", self.markdown());
        }
    }
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
    fn notes_are_numbered_once_and_numbers_right_aligned() {
        let mut grid = Grid::new(&["broker", "case", "n/s"], 2);
        let note = "cannot read argon2id".to_string();
        grid.row(
            vec!["mosquitto".into(), "a".into(), "-".into()],
            std::slice::from_ref(&note),
        );
        grid.row(vec!["hearth".into(), "b".into(), "150".into()], &[note]);
        let plain = grid.plain();
        assert!(plain.contains("a [1]"), "{plain}");
        assert!(plain.contains("b [1]"), "{plain}");
        assert_eq!(plain.matches("[1] cannot read argon2id").count(), 1);
        assert!(plain.contains("hearth     b [1]  150"), "{plain}");
        let md = grid.markdown();
        assert!(md.starts_with("| broker | case | n/s |\n| --- | --- | ---: |\n"));
        assert_eq!(ratio(Some(3.0), Some(2.0)), "1.50x");
        assert_eq!(ratio(Some(3.0), None), "n/a");
    }
}

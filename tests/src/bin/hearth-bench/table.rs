//! Renders result rows as an aligned plain-text table or as markdown.

use crate::stats::ScenarioResult;

const HEADERS: [&str; 9] = [
    "broker",
    "scenario",
    "sent",
    "delivered",
    "loss",
    "dup",
    "msgs/s",
    "p50 us",
    "p99 us",
];

/// Columns after the first two are numbers and are right-aligned.
const TEXT_COLUMNS: usize = 2;

fn cells(rows: &[ScenarioResult]) -> (Vec<Vec<String>>, Vec<String>) {
    let mut notes = Vec::new();
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    let body = rows
        .iter()
        .map(|r| {
            let mut scenario = r.scenario.clone();
            for note in &r.notes {
                notes.push(note.clone());
                scenario.push_str(&format!(" [{}]", notes.len()));
            }
            vec![
                r.broker.clone(),
                scenario,
                r.sent.to_string(),
                r.delivered.to_string(),
                r.loss().to_string(),
                r.duplicates.to_string(),
                r.rate.map_or("-".to_string(), |v| format!("{v:.0}")),
                opt(r.p50_us),
                opt(r.p99_us),
            ]
        })
        .collect();
    (body, notes)
}

fn widths(body: &[Vec<String>]) -> Vec<usize> {
    HEADERS
        .iter()
        .enumerate()
        .map(|(i, h)| {
            body.iter()
                .map(|row| row[i].len())
                .fold(h.len(), usize::max)
        })
        .collect()
}

fn footnotes(notes: &[String]) -> String {
    notes
        .iter()
        .enumerate()
        .map(|(i, n)| format!("[{}] {n}\n", i + 1))
        .collect()
}

/// Plain table, columns separated by two spaces.
pub fn plain(rows: &[ScenarioResult]) -> String {
    let (body, notes) = cells(rows);
    let widths = widths(&body);
    let header: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain([&rule]).chain(body.iter()) {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if i < TEXT_COLUMNS {
                    format!("{cell:<w$}", w = widths[i])
                } else {
                    format!("{cell:>w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out + &footnotes(&notes)
}

/// GitHub-flavoured markdown table with numeric columns right-aligned.
pub fn markdown(rows: &[ScenarioResult]) -> String {
    let (body, notes) = cells(rows);
    let align: Vec<&str> = (0..HEADERS.len())
        .map(|i| if i < TEXT_COLUMNS { "---" } else { "---:" })
        .collect();
    let mut out = format!("| {} |\n| {} |\n", HEADERS.join(" | "), align.join(" | "));
    for row in body {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    if !notes.is_empty() {
        out.push('\n');
        out.push_str(&footnotes(&notes));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_notes_and_alignment() {
        let mut row = ScenarioResult::empty("mosquitto", "QoS0 1->1");
        row.sent = 10;
        row.expected = 10;
        row.delivered = 9;
        row.notes.push("drain hit the scenario timeout".into());
        let text = plain(&[row.clone()]);
        assert!(text.contains("QoS0 1->1 [1]"));
        assert!(text.contains("[1] drain hit the scenario timeout"));
        let md = markdown(&[row]);
        assert!(md.starts_with("| broker | scenario |"));
        assert!(md.contains("| mosquitto | QoS0 1->1 [1] | 10 | 9 | 1 | 0 | - | - | - |"));
    }
}

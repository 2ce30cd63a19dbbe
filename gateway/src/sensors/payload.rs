//! How a reading looks on the wire.

use std::time::SystemTime;

use drivers::Quantity;

use super::settings::Format;

/// `21.4`, or `{"value":21.4,"unit":"°C","timestamp":"2026-11-22T21:30:00Z"}`.
pub fn reading(
    format: Format,
    quantity: Quantity,
    value: f64,
    decimals: u32,
    at: SystemTime,
) -> String {
    let number = format!("{value:.prec$}", prec = decimals as usize);
    match format {
        Format::Plain => number,
        Format::Json => format!(
            "{{\"value\":{number},\"unit\":{},\"timestamp\":\"{}\"}}",
            json_string(quantity.unit()),
            humantime::format_rfc3339_seconds(at)
        ),
    }
}

/// A JSON string literal (units are plain text, but keep the output valid whatever they are).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn plain_is_the_rounded_number() {
        let at = UNIX_EPOCH;
        assert_eq!(
            reading(Format::Plain, Quantity::Temperature, 21.0, 1, at),
            "21.0"
        );
        assert_eq!(reading(Format::Plain, Quantity::Co2, 812.0, 0, at), "812");
        assert_eq!(
            reading(Format::Plain, Quantity::Temperature, -3.25, 2, at),
            "-3.25"
        );
    }

    #[test]
    fn json_carries_unit_and_timestamp() {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let text = reading(Format::Json, Quantity::Temperature, 4.2, 1, at);
        assert_eq!(
            text,
            "{\"value\":4.2,\"unit\":\"°C\",\"timestamp\":\"2026-11-18T11:06:40Z\"}"
        );
    }
}

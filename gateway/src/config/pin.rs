//! `pin = 17` or `pin = "sim"`: a GPIO line, as gpio_input sensors and actuators name it.

use toml::de::DeValue;

use super::error::ErrorSink;
use super::reader::TableReader;
use crate::sensors::settings::Pin;

/// Reads `pin` as a BCM number up to `max`, or `"sim"`; `missing` is the message when absent.
pub(crate) fn read(
    t: &mut TableReader,
    errs: &mut ErrorSink,
    max: u8,
    missing: &str,
) -> Option<Pin> {
    match t.raw("pin").map(|v| (v.get_ref(), v.span())) {
        Some((DeValue::String(s), _)) if s.as_ref() == "sim" => Some(Pin::Sim),
        Some((DeValue::Integer(_), _)) => t
            .integer::<u8>(errs, "pin", 0..=i64::from(max))
            .map(Pin::Bcm),
        Some((_, span)) => {
            errs.report(
                &t.key_path("pin"),
                span,
                "must be a BCM GPIO number such as 17, or \"sim\"",
            );
            None
        }
        None => {
            errs.report(&t.key_path("pin"), t.span(), missing);
            None
        }
    }
}

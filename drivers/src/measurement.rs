//! What a sensor read produces: one or more measurements, each a quantity with a value and unit.

use std::fmt;

/// A physical quantity a sensor reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantity {
    Temperature,
    Humidity,
    Pressure,
    Co2,
}

impl Quantity {
    /// The topic suffix under a sensor's base topic (`Kitchen/Fridge/temperature`).
    pub fn topic_suffix(self) -> &'static str {
        match self {
            Quantity::Temperature => "temperature",
            Quantity::Humidity => "humidity",
            Quantity::Pressure => "pressure",
            Quantity::Co2 => "co2",
        }
    }

    /// The unit readings of this quantity are published in.
    pub fn unit(self) -> &'static str {
        match self {
            Quantity::Temperature => "°C",
            Quantity::Humidity => "%",
            Quantity::Pressure => "hPa",
            Quantity::Co2 => "ppm",
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.topic_suffix())
    }
}

/// One value read from a sensor, in the quantity's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    pub quantity: Quantity,
    pub value: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_quantity_has_a_distinct_topic_suffix() {
        let all = [
            Quantity::Temperature,
            Quantity::Humidity,
            Quantity::Pressure,
            Quantity::Co2,
        ];
        let mut suffixes: Vec<_> = all.iter().map(|q| q.topic_suffix()).collect();
        suffixes.dedup();
        assert_eq!(suffixes.len(), all.len());
        assert_eq!(Quantity::Co2.unit(), "ppm");
    }
}

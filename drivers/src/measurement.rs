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
    pub const ALL: [Quantity; 4] = [
        Quantity::Temperature,
        Quantity::Humidity,
        Quantity::Pressure,
        Quantity::Co2,
    ];

    /// The quantity named by its topic suffix (`"co2"`), as configs write it.
    pub fn from_name(name: &str) -> Option<Quantity> {
        Quantity::ALL.into_iter().find(|q| q.topic_suffix() == name)
    }

    /// Digits after the decimal point that the common sensors actually resolve.
    pub fn default_decimals(self) -> u32 {
        match self {
            Quantity::Temperature | Quantity::Humidity | Quantity::Pressure => 1,
            Quantity::Co2 => 0,
        }
    }

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
        let mut suffixes: Vec<_> = Quantity::ALL.iter().map(|q| q.topic_suffix()).collect();
        suffixes.sort_unstable();
        suffixes.dedup();
        assert_eq!(suffixes.len(), Quantity::ALL.len());
        for q in Quantity::ALL {
            assert_eq!(Quantity::from_name(q.topic_suffix()), Some(q));
        }
        assert_eq!(Quantity::from_name("heat"), None);
        assert_eq!(Quantity::Co2.unit(), "ppm");
    }
}

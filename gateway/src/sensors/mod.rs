//! Reading the sensors wired to the Pi (or simulated) and publishing their readings.

pub mod payload;
pub mod policy;
pub mod settings;

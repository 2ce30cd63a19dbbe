//! Hearth's sensor drivers. Each device driver is generic over `embedded-hal` 1.0 traits, so the
//! same code runs against a Pi's buses and against simulated devices in tests.

pub mod measurement;

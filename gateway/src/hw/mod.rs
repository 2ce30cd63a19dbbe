//! The Pi's hardware, behind small modules: only these name `linux-embedded-hal` and `rppal`.
//! `rppal` is no longer maintained; keeping it here lets `linux-embedded-hal`'s `CdevPin`
//! replace it without touching the rest.

pub mod delay;
pub mod gpio;
pub mod gpio_output;
pub mod i2c;
pub mod shared;

//! Simulated devices that answer the real register protocols, so the real driver code runs in
//! tests and in the demo. Each has a control handle to change its values and inject faults.

pub mod fault;

pub use fault::{Drift, Fault, SimI2cError};

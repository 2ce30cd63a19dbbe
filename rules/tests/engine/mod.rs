//! The engine driven through its public API, one module per behaviour.

mod captures;
mod combine;
mod durations;
mod payloads;
mod reload;
mod replay;
mod scale;
mod staleness;
mod support;
mod thresholds;

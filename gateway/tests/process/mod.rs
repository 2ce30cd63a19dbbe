mod cli;
mod harness;
mod memory;
mod reload;
mod rules_test;
mod signals;

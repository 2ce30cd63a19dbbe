mod cli;
mod harness;
mod memory;
mod notify;
mod reload;
mod rules_test;
mod signals;

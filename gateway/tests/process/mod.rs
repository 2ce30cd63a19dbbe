mod cli;
mod harness;
mod memory;
mod notify;
mod passwd;
mod reload;
mod rules_test;
mod signals;

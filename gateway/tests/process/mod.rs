mod cli;
mod harness;
mod memory;
mod notify;
mod signals;

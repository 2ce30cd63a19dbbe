mod cli;
mod harness;
mod memory;
mod signals;

//! A process's resident memory, and whether this process may open the sockets a fleet needs.

use std::time::Duration;

use anyhow::{bail, Context, Result};

/// VmRSS of `pid` in KiB.
pub fn kib(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_vm_rss(&status).with_context(|| format!("no VmRSS line in {path}"))
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// VmRSS once it has stopped moving: a broker frees and grows buffers for a moment after a
/// burst of connections. Two readings a quarter second apart within 0.5 % (or 64 KiB) count
/// as settled; after five seconds the last reading is taken as it is.
pub async fn settled_kib(pid: u32) -> Result<u64> {
    let mut last = kib(pid)?;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = kib(pid)?;
        if now.abs_diff(last) <= (last / 200).max(64) {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}

/// Fails, saying what to run, unless this process (and the brokers it starts, which inherit
/// the limit) may open `clients` sockets and some to spare.
pub fn check_fd_limit(clients: usize) -> Result<()> {
    let limits =
        std::fs::read_to_string("/proc/self/limits").context("reading /proc/self/limits")?;
    let Some(soft) = parse_open_files(&limits) else {
        return Ok(());
    };
    let needed = clients as u64 + 128;
    if soft < needed {
        bail!(
            "this shell allows {soft} open files and {clients} clients need about {needed}; \
             run `ulimit -n {}` first",
            needed.next_power_of_two()
        );
    }
    Ok(())
}

/// The soft limit of "Max open files" (None for "unlimited" or an unexpected layout).
fn parse_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss() {
        let status = "Name:\tmosquitto\nVmPeak:\t  9000 kB\nVmRSS:\t    7316 kB\nThreads:\t1\n";
        assert_eq!(parse_vm_rss(status), Some(7316));
    }

    #[test]
    fn reads_open_files_soft_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_open_files(limits), Some(1024));
    }

    #[test]
    fn own_rss_is_read() {
        assert!(kib(std::process::id()).unwrap() > 0);
    }
}

//! CPU time of this process and of a broker child, from /proc, so a run
//! can show whether the clients or the broker were the busy side.

/// User plus system CPU seconds consumed so far by `pid` (all threads), or
/// by this process when `pid` is `None`. `None` where /proc is unavailable.
pub fn seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    parse_stat(&stat)
}

/// CPU seconds of another process.
pub fn seconds_of(pid: u32) -> Option<f64> {
    seconds(Some(pid))
}

/// CPU seconds of `pid` (this process for `None`) to the nanosecond: the sum over its
/// threads of the first field of `/proc/PID/task/TID/schedstat`. Threads that have exited
/// are not counted, so take it over a stretch in which none do (a broker's threads live on).
/// Falls back to [`seconds`] where schedstat is unavailable.
pub fn precise_seconds(pid: Option<u32>) -> Option<f64> {
    let dir = match pid {
        Some(pid) => format!("/proc/{pid}/task"),
        None => "/proc/self/task".to_string(),
    };
    let sum = || -> Option<u64> {
        let mut ns = 0u64;
        for task in std::fs::read_dir(&dir).ok()? {
            let path = task.ok()?.path().join("schedstat");
            // A thread may exit between the listing and the read.
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            ns += text.split_whitespace().next()?.parse::<u64>().ok()?;
        }
        Some(ns)
    };
    match sum() {
        Some(ns) if ns > 0 => Some(ns as f64 / 1e9),
        _ => seconds(pid),
    }
}

/// Fields 14 and 15 (utime, stime) in clock ticks; the command name in
/// field 2 may contain spaces, so fields are counted after its ')'.
fn parse_stat(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // The kernel reports these in USER_HZ, which is 100 on Linux.
    Some((utime + stime) as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    use super::parse_stat;

    #[test]
    fn parses_name_with_spaces() {
        let stat = "42 (a b) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 1";
        assert_eq!(parse_stat(stat), Some(2.0));
    }
}

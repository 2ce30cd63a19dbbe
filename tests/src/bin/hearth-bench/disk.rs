//! What a process has written, from `/proc/PID/io`, which file system a path is on, and how
//! large the files a broker keeps are.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::time::{sleep, Instant};

/// A process's write counters. `write_bytes` counts pages it dirtied in the page cache (on
/// their way to the block device), `wchar` every byte passed to write(2) (log lines and
/// eventfd wake-ups too; not socket sends, which go through send(2)), `cancelled` dirty
/// pages it dropped before they reached the device (a file truncated or replaced).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Io {
    pub wchar: u64,
    pub write_bytes: u64,
    pub cancelled: u64,
}

impl Io {
    pub fn of(pid: u32) -> Result<Io> {
        let path = format!("/proc/{pid}/io");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        parse_io(&text).with_context(|| format!("unexpected layout of {path}"))
    }

    /// What was written between `before` and `self`.
    pub fn since(&self, before: &Io) -> Io {
        Io {
            wchar: self.wchar.saturating_sub(before.wchar),
            write_bytes: self.write_bytes.saturating_sub(before.write_bytes),
            cancelled: self.cancelled.saturating_sub(before.cancelled),
        }
    }
}

fn parse_io(text: &str) -> Option<Io> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        line.split_once(':')?.1.trim().parse().ok()
    };
    Some(Io {
        wchar: field("wchar:")?,
        write_bytes: field("write_bytes:")?,
        cancelled: field("cancelled_write_bytes:")?,
    })
}

/// The counters once a broker has stopped writing: two readings `every` apart with the same
/// `write_bytes` (pick `every` above the broker's commit interval), or the last reading after
/// `at_most`, with `false`.
pub async fn settled(pid: u32, every: Duration, at_most: Duration) -> Result<(Io, bool)> {
    let deadline = Instant::now() + at_most;
    let mut last = Io::of(pid)?;
    loop {
        sleep(every).await;
        let now = Io::of(pid)?;
        if now.write_bytes == last.write_bytes {
            return Ok((now, true));
        }
        if Instant::now() >= deadline {
            return Ok((now, false));
        }
        last = now;
    }
}

/// A mounted file system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub device: String,
    pub mount_point: PathBuf,
    pub fs_type: String,
}

impl Mount {
    /// File systems whose writes never reach a block device, so `write_bytes` stays 0.
    pub fn is_memory_backed(&self) -> bool {
        matches!(
            self.fs_type.as_str(),
            "tmpfs" | "ramfs" | "overlay" | "devtmpfs"
        )
    }

    pub fn describe(&self) -> String {
        format!(
            "{} on {} ({})",
            self.fs_type,
            self.mount_point.display(),
            self.device
        )
    }
}

/// The file system `path` (which must exist) is on, from `/proc/self/mounts`.
pub fn mount_of(path: &Path) -> Result<Mount> {
    let path = path
        .canonicalize()
        .with_context(|| format!("resolving {}", path.display()))?;
    let mounts =
        std::fs::read_to_string("/proc/self/mounts").context("reading /proc/self/mounts")?;
    longest_mount(&mounts, &path)
        .with_context(|| format!("no mount holds {} in /proc/self/mounts", path.display()))
}

/// The mount with the longest mount point above `path`; of equal ones the last, which
/// shadows the others.
fn longest_mount(mounts: &str, path: &Path) -> Option<Mount> {
    mounts
        .lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (device, point, fs_type) = (f.next()?, f.next()?, f.next()?);
            Some(Mount {
                device: unescape(device),
                mount_point: PathBuf::from(unescape(point)),
                fs_type: fs_type.to_string(),
            })
        })
        .filter(|m| path.starts_with(&m.mount_point))
        .fold(None, |best: Option<Mount>, m| match best {
            Some(b) if b.mount_point.as_os_str().len() > m.mount_point.as_os_str().len() => Some(b),
            _ => Some(m),
        })
}

/// `/proc/self/mounts` writes space, tab, newline and backslash as octal escapes.
fn unescape(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_io() {
        let text = "rchar: 1\nwchar: 276\nsyscr: 3\nsyscw: 52\nread_bytes: 0\n\
                    write_bytes: 4096\ncancelled_write_bytes: 8192\n";
        let io = parse_io(text).unwrap();
        assert_eq!((io.wchar, io.write_bytes, io.cancelled), (276, 4096, 8192));
        let later = Io {
            write_bytes: 12288,
            ..io
        };
        assert_eq!(later.since(&io).write_bytes, 8192);
    }

    #[test]
    fn picks_the_deepest_and_last_mount() {
        let mounts = "/dev/vda / ext4 rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\n\
                      /dev/vdb /var/my\\040tmp xfs rw 0 0\n/dev/vdc /var/my\\040tmp btrfs rw 0 0\n";
        let m = longest_mount(mounts, Path::new("/var/my tmp/x")).unwrap();
        assert_eq!(
            (m.fs_type.as_str(), m.device.as_str()),
            ("btrfs", "/dev/vdc")
        );
        let root = longest_mount(mounts, Path::new("/var/tmp")).unwrap();
        assert_eq!(root.fs_type, "ext4");
        assert!(longest_mount(mounts, Path::new("/dev/shm/a"))
            .unwrap()
            .is_memory_backed());
    }

    #[test]
    fn own_counters_are_read() {
        assert!(Io::of(std::process::id()).is_ok());
    }
}

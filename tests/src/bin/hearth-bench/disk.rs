//! Which file system a path is on.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A mounted file system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub device: String,
    pub mount_point: PathBuf,
    pub fs_type: String,
}

impl Mount {
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
    }
}

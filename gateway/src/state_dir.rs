//! The state directory as `hearth check` sees it: there, a directory, and writable, since the
//! broker's store and the gateway's own memory live in it.

use std::path::Path;

/// Why `dir` cannot hold the gateway's state, with what to do about it.
pub fn check_writable(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    let meta = std::fs::metadata(dir).map_err(|e| {
        format!("state directory {shown}: {e}; create it (the packaged unit's StateDirectory= does) or set [gateway] state_dir")
    })?;
    if !meta.is_dir() {
        return Err(format!(
            "state directory {shown} is not a directory; set [gateway] state_dir to a directory"
        ));
    }
    // Only writing tells: permissions, a read-only mount and a full card all show here.
    let probe = dir.join(format!(".hearth-check-{}", std::process::id()));
    std::fs::write(&probe, b"probe")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            format!(
                "state directory {shown} cannot be written ({e}): retained messages and sessions would not survive a restart; give the user hearth runs as write access, or remount it read-write"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::check_writable;

    #[test]
    fn a_missing_directory_and_a_file_are_refused_and_a_directory_accepted() {
        let base = std::env::temp_dir().join(format!("hearth-state-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        assert!(check_writable(&base).is_ok());
        let missing = check_writable(&base.join("nope")).unwrap_err();
        assert!(missing.contains("create it"), "{missing}");
        let file = base.join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(check_writable(&file)
            .unwrap_err()
            .contains("not a directory"));
        std::fs::remove_dir_all(&base).unwrap();
    }
}

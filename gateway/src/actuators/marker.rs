//! Remembers whether the actuators were stopped cleanly: a file in the state directory exists
//! while they run. Found at start, it means the previous run crashed (or lost power), so
//! nothing drove the outputs to their safe state, and this run should start there.

use std::path::{Path, PathBuf};

use log::warn;

const FILE: &str = "actuators.running";

pub struct RunMarker {
    path: Option<PathBuf>,
}

impl RunMarker {
    /// Marks the actuators running; says whether the previous run had not stopped cleanly.
    /// Without a state directory nothing is remembered and every start counts as clean.
    pub fn claim(state_dir: Option<&Path>) -> (RunMarker, bool) {
        let Some(dir) = state_dir else {
            return (RunMarker { path: None }, false);
        };
        let path = dir.join(FILE);
        let crashed = path.exists();
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&path, format!("{}\n", std::process::id())));
        if let Err(e) = written {
            warn!(
                "cannot write {}: {e}; after a crash the actuators will start in their initial state, not their safe one",
                path.display()
            );
            return (RunMarker { path: None }, crashed);
        }
        (RunMarker { path: Some(path) }, crashed)
    }

    /// The actuators stopped cleanly: the next start uses their initial states.
    pub fn clear(self) {
        if let Some(path) = self.path {
            if let Err(e) = std::fs::remove_file(&path) {
                warn!(
                    "cannot remove {}: {e}; the next start will use the safe states",
                    path.display()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hearth-marker-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_clean_stop_leaves_no_marker() {
        let dir = scratch("clean");
        let (marker, crashed) = RunMarker::claim(Some(&dir));
        assert!(!crashed, "a first start is clean");
        assert!(dir.join(FILE).exists());
        marker.clear();
        let (marker, crashed) = RunMarker::claim(Some(&dir));
        assert!(!crashed, "the previous run stopped cleanly");
        marker.clear();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_run_that_never_stopped_is_seen_as_a_crash() {
        let dir = scratch("crash");
        let (crashed_run, _) = RunMarker::claim(Some(&dir));
        drop(crashed_run); // the process died: nobody cleared it
        let (marker, crashed) = RunMarker::claim(Some(&dir));
        assert!(crashed);
        marker.clear();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_a_state_dir_every_start_is_clean() {
        let (marker, crashed) = RunMarker::claim(None);
        assert!(!crashed);
        marker.clear();
    }
}

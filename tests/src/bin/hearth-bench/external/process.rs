//! A load generator's child process: started in its own process group, its output read line
//! by line on threads as it arrives, and the whole group signalled when it is stopped or
//! dropped, so no generator (or anything it started) outlives a scenario or an error.
//! (The Erlang VM's `erl_child_setup` helper makes a session of its own; it exits as soon as
//! its VM does, however the VM ends.)

use std::collections::VecDeque;
use std::fmt::Display;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};

use crate::child_exit;

/// Lines of output an error message ends with.
const TAIL_LINES: usize = 12;

/// The last lines a process wrote that its reader chose to keep, for error messages.
#[derive(Clone, Default)]
struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    fn push(&self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        let mut lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line.to_string());
    }

    fn text(&self) -> String {
        let lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        lines.iter().cloned().collect::<Vec<_>>().join(" | ")
    }
}

/// One generator process, killed with its whole process group on drop.
pub struct Proc {
    /// What it is and which broker it drives: `emqtt-bench sub (hearth)`.
    what: String,
    command_line: String,
    child: Child,
    tail: Tail,
    exited: Option<ExitStatus>,
}

impl Proc {
    /// Starts `program args` in a new process group with stdout and stderr piped. Each stdout
    /// line (without its line end and the `\r` emqtt-bench starts lines with) is handed to
    /// `on_stdout` on a reader thread the moment it is read, then `None` once stdout closes;
    /// `on_stdout` returns whether the line is worth keeping for error messages. Every stderr
    /// line is kept.
    pub fn spawn(
        what: String,
        program: &Path,
        args: &[String],
        stdin: bool,
        mut on_stdout: impl FnMut(Option<&str>) -> bool + Send + 'static,
    ) -> Result<Proc> {
        let command_line = command_line(program, args);
        let mut command = Command::new(program);
        command
            .args(args)
            .process_group(0)
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("{what}: cannot start `{command_line}`"))?;
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        // Owned from here on, so a failure below still kills the process.
        let proc = Proc {
            what,
            command_line,
            child,
            tail: Tail::default(),
            exited: None,
        };
        if let Some(out) = stdout {
            let tail = proc.tail.clone();
            read_lines(&proc.what, out, move |line| {
                if on_stdout(line) {
                    if let Some(line) = line {
                        tail.push(line);
                    }
                }
            })?;
        }
        if let Some(err) = stderr {
            let tail = proc.tail.clone();
            read_lines(&proc.what, err, move |line| {
                if let Some(line) = line {
                    tail.push(line);
                }
            })?;
        }
        Ok(proc)
    }

    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// An error naming the generator, the broker and the command line, ending with what the
    /// process last printed.
    pub fn error(&self, what: impl Display) -> anyhow::Error {
        let tail = self.tail.text();
        let tail = if tail.is_empty() {
            " (it printed nothing)".to_string()
        } else {
            format!("; its output ends with: {tail}")
        };
        anyhow!(
            "{}: {what}; command: `{}`{tail}",
            self.what,
            self.command_line
        )
    }

    /// Waits, bounded, for a process that is finishing by itself (its stdout has closed).
    pub async fn wait_exit(&mut self, within: Duration) -> Result<ExitStatus> {
        match self.exited_within(within).await? {
            Some(status) => {
                self.signal_group("KILL");
                Ok(status)
            }
            None => Err(self.error(format!("did not exit within {within:?}"))),
        }
    }

    /// SIGTERM to the whole group, up to `grace` for it to exit, then SIGKILL to the group
    /// (which also ends anything it left behind).
    pub async fn stop(&mut self, grace: Duration) -> Result<()> {
        if self.exited.is_some() {
            return Ok(());
        }
        self.signal_group("TERM");
        self.exited_within(grace).await?;
        self.signal_group("KILL");
        if self.exited.is_none() {
            let status = self
                .child
                .wait()
                .map_err(|e| self.error(format!("reaping it failed: {e}")))?;
            self.exited = Some(status);
        }
        Ok(())
    }

    /// Its exit status once it has exited (kept for later calls), or `None` after `within`.
    async fn exited_within(&mut self, within: Duration) -> Result<Option<ExitStatus>> {
        if self.exited.is_none() {
            self.exited = child_exit::exited_within(&mut self.child, within)
                .await
                .map_err(|e| self.error(format!("polling it failed: {e}")))?;
        }
        Ok(self.exited)
    }

    /// `kill -SIG -- -PGID`; the group's id is the leader's pid (`process_group(0)`).
    fn signal_group(&self, signal: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited.is_none() {
            self.signal_group("KILL");
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads `from` line by line on a thread of its own, handing each line to `each` as soon as
/// it is read, then `None` at end of file (or on a read error).
fn read_lines(
    what: &str,
    from: impl Read + Send + 'static,
    mut each: impl FnMut(Option<&str>) + Send + 'static,
) -> Result<()> {
    std::thread::Builder::new()
        .name("generator-output".to_string())
        .spawn(move || {
            let mut reader = BufReader::with_capacity(1 << 16, from);
            let mut buf = Vec::with_capacity(256);
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&buf);
                        each(Some(text.trim_matches(['\r', '\n'])));
                    }
                }
            }
            each(None);
        })
        .map(|_| ())
        .with_context(|| format!("{what}: starting a thread to read its output"))
}

/// The command as one would type it into a shell.
pub fn command_line(program: &Path, args: &[String]) -> String {
    std::iter::once(program.display().to_string())
        .chain(args.iter().cloned())
        .map(|word| quote(&word))
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::command_line;

    #[test]
    fn quotes_what_a_shell_would_expand() {
        let args = ["sub", "-t", "bench/#", "-m", "it's"].map(String::from);
        assert_eq!(
            command_line(Path::new("/tmp/emqtt_bench"), &args),
            r"/tmp/emqtt_bench sub -t 'bench/#' -m 'it'\''s'"
        );
    }
}

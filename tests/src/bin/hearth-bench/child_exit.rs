//! Waiting, bounded, for a child process to exit, for the brokers and load generators the
//! benchmarks start.

use std::io;
use std::process::{Child, ExitStatus};
use std::time::Duration;

use tokio::time::{sleep, Instant};

/// How often the child is looked at: `std::process::Child` gives no notice of its exit, and
/// 5 ms is far below anything these waits bound.
const POLL: Duration = Duration::from_millis(5);

/// The child's exit status once it has exited, or `None` if it is still running after
/// `within`.
pub async fn exited_within(child: &mut Child, within: Duration) -> io::Result<Option<ExitStatus>> {
    let until = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= until {
            return Ok(None);
        }
        sleep(POLL).await;
    }
}

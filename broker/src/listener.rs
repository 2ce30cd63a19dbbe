//! Accepts TCP connections until shutdown; each connection runs on its own task.

use std::sync::Arc;
use std::time::Duration;

use log::warn;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::{self, ConnContext};

pub(crate) async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<ConnContext>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let mut next_conn: u64 = 1;
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let conn = next_conn;
                next_conn += 1;
                tracker.spawn(connection::serve(stream, peer, conn, ctx.clone()));
            }
            Err(e) => {
                // Usually out of file descriptors: back off instead of spinning, keep serving.
                warn!("cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

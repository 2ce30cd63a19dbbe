//! A bare MQTT 3.1.1 connection for the connection benchmarks: packets are built by
//! `tests::encode` and read by `tests::decode`, so a CONNECT costs the client one write and
//! one read and the broker is what gets measured. Every failure is an error, never a panic.

use std::net::SocketAddr;

use anyhow::{anyhow, bail, Context, Result};
use tests::decode::{decode, Packet};
use tests::encode::Connect;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// Reads whole packets from one side of a connection.
pub struct PacketReader {
    io: OwnedReadHalf,
    buf: Vec<u8>,
}

impl PacketReader {
    /// The next packet, or an error if none is whole by `deadline`, the broker closed, or
    /// it sent something invalid.
    pub async fn recv(&mut self, deadline: Instant) -> Result<Packet> {
        loop {
            match decode(&self.buf) {
                Ok(Some((packet, used))) => {
                    self.buf.drain(..used);
                    return Ok(packet);
                }
                Ok(None) => {}
                Err(e) => bail!("the broker sent an invalid packet: {e}"),
            }
            self.buf.reserve(4096);
            let n = timeout_at(deadline, self.io.read_buf(&mut self.buf))
                .await
                .map_err(|_| anyhow!("no packet from the broker in time"))?
                .context("reading from the broker")?;
            if n == 0 {
                bail!("the broker closed the connection");
            }
        }
    }

    /// Waits until the broker closes the connection, dropping whatever it still sends.
    pub async fn closed(&mut self, deadline: Instant) -> Result<()> {
        let mut sink = [0u8; 1024];
        loop {
            let n = timeout_at(deadline, self.io.read(&mut sink))
                .await
                .map_err(|_| anyhow!("the broker did not close the connection in time"))?;
            // A reset counts as closed too.
            if !matches!(n, Ok(n) if n > 0) {
                return Ok(());
            }
        }
    }
}

/// A TCP connection to a broker, split so one task may write while another reads.
pub struct Conn {
    pub reader: PacketReader,
    pub writer: OwnedWriteHalf,
}

impl Conn {
    /// Opens TCP to `addr` (with TCP_NODELAY) and sends nothing.
    pub async fn open(addr: SocketAddr, deadline: Instant) -> Result<Conn> {
        let stream = timeout_at(deadline, TcpStream::connect(addr))
            .await
            .map_err(|_| anyhow!("TCP connect to {addr} timed out"))?
            .with_context(|| format!("TCP connect to {addr}"))?;
        stream.set_nodelay(true).context("setting TCP_NODELAY")?;
        let (io, writer) = stream.into_split();
        Ok(Conn {
            reader: PacketReader {
                io,
                buf: Vec::new(),
            },
            writer,
        })
    }

    /// Opens TCP, sends `connect` and waits for CONNACK 0; returns the session-present flag.
    pub async fn handshake(
        addr: SocketAddr,
        connect: &Connect,
        deadline: Instant,
    ) -> Result<(Conn, bool)> {
        let mut conn = Conn::open(addr, deadline).await?;
        conn.send(&connect.encode()).await?;
        match conn
            .reader
            .recv(deadline)
            .await
            .context("waiting for CONNACK")?
        {
            Packet::ConnAck {
                session_present,
                code: 0,
            } => Ok((conn, session_present)),
            Packet::ConnAck { code, .. } => bail!("CONNACK refused the connection: code {code}"),
            other => bail!("expected CONNACK, got {other:?}"),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.writer
            .write_all(bytes)
            .await
            .context("writing to the broker")
    }

    /// Waits for the packet `wanted` picks, skipping others (a queued PUBLISH, a PUBACK).
    pub async fn recv_until<T>(
        &mut self,
        deadline: Instant,
        mut wanted: impl FnMut(&Packet) -> Option<T>,
    ) -> Result<T> {
        loop {
            let packet = self.reader.recv(deadline).await?;
            if let Some(found) = wanted(&packet) {
                return Ok(found);
            }
        }
    }
}

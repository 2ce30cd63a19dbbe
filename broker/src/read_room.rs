//! How much buffer a socket read gets: what the client's recent reads needed.
//!
//! A node that sends a reading or a PINGREQ now and then waits for it in 256 bytes rather
//! than 4 KiB (a home's connections are mostly such nodes, mostly waiting); a busy
//! publisher's reads fill their room and double it, up to 4 KiB, and a read that needs less
//! than a quarter of it halves it.

use bytes::BytesMut;

pub(crate) struct ReadRoom(usize);

impl ReadRoom {
    pub(crate) const MIN: usize = 256;
    pub(crate) const MAX: usize = 4096;

    /// Makes room in `buf` for the next read and returns how much there is. An empty buffer
    /// larger than the room (a burst is over) is given back first.
    pub(crate) fn prepare(&self, buf: &mut BytesMut) -> usize {
        if buf.is_empty() && buf.capacity() > self.0 {
            *buf = BytesMut::new();
        }
        buf.reserve(self.0);
        buf.capacity() - buf.len()
    }

    /// Learns from a read of `read` bytes into `space` bytes of room.
    pub(crate) fn after_read(&mut self, read: usize, space: usize) {
        if read >= space {
            self.0 = (self.0 * 2).min(Self::MAX);
        } else if read < self.0 / 4 {
            self.0 = (self.0 / 2).max(Self::MIN);
        }
    }
}

impl Default for ReadRoom {
    fn default() -> Self {
        // Most clients are nodes that say little; a busy one reaches MAX within a few reads.
        ReadRoom(Self::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_room_grows_with_full_reads_and_shrinks_with_small_ones() {
        let mut room = ReadRoom::default();
        assert_eq!(room.0, ReadRoom::MIN);
        for _ in 0..10 {
            let space = room.0;
            room.after_read(space, space);
        }
        assert_eq!(
            room.0,
            ReadRoom::MAX,
            "full reads double it, up to the maximum"
        );
        room.after_read(ReadRoom::MAX / 2, ReadRoom::MAX);
        assert_eq!(room.0, ReadRoom::MAX, "a read of half the room keeps it");
        for _ in 0..10 {
            room.after_read(2, room.0);
        }
        assert_eq!(
            room.0,
            ReadRoom::MIN,
            "PINGREQs bring it down to the minimum"
        );
    }

    #[test]
    fn an_empty_buffer_left_large_by_a_burst_is_given_back() {
        let room = ReadRoom::default();
        let mut buf = BytesMut::with_capacity(64 * 1024);
        assert_eq!(room.prepare(&mut buf), ReadRoom::MIN);
        assert_eq!(buf.capacity(), ReadRoom::MIN);
        // A buffer holding part of a packet keeps what it holds.
        let mut partial = BytesMut::with_capacity(64 * 1024);
        partial.extend_from_slice(&[0x30, 0x80]);
        assert!(room.prepare(&mut partial) >= ReadRoom::MIN);
        assert_eq!(&partial[..], &[0x30, 0x80]);
    }
}

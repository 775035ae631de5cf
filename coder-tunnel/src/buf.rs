//! A free list of packet buffers so the data path does not allocate per packet.

/// Largest datagram or IP packet the engine handles (inner MTU plus WireGuard overhead fits).
pub const MAX_PACKET: usize = 65_535;

/// Buffer size used for packets: a 1500-byte underlay MTU plus headroom; larger inputs are
/// rejected before they reach a buffer.
pub const PACKET_BUF: usize = 2048;

/// A pool of equally sized `Vec<u8>` buffers. `get` hands one out (reusing a returned one if
/// possible); `put` takes it back. Buffers beyond `max_free` are freed.
#[derive(Debug)]
pub struct BufPool {
    free: Vec<Vec<u8>>,
    size: usize,
    max_free: usize,
    allocated: u64,
}

impl BufPool {
    /// A pool of `size`-byte buffers keeping at most `max_free` idle ones.
    pub fn new(size: usize, max_free: usize) -> Self {
        Self {
            free: Vec::new(),
            size,
            max_free,
            allocated: 0,
        }
    }

    /// A buffer of exactly `size` bytes (contents unspecified).
    pub fn get(&mut self) -> Vec<u8> {
        match self.free.pop() {
            Some(mut buf) => {
                buf.resize(self.size, 0);
                buf
            }
            None => {
                self.allocated += 1;
                vec![0; self.size]
            }
        }
    }

    /// Returns a buffer to the pool.
    pub fn put(&mut self, buf: Vec<u8>) {
        if self.free.len() < self.max_free && buf.capacity() >= self.size {
            self.free.push(buf);
        }
    }

    /// How many buffers the pool ever allocated (a test of pooling).
    pub fn allocated(&self) -> u64 {
        self.allocated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_returned_buffers() {
        let mut pool = BufPool::new(64, 4);
        for _ in 0..100 {
            let mut b = pool.get();
            assert_eq!(b.len(), 64);
            b.truncate(3);
            pool.put(b);
        }
        assert_eq!(pool.allocated(), 1);
    }
}

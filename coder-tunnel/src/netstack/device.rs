//! A smoltcp [`Device`] backed by two packet queues and a buffer pool: the engine pushes
//! decrypted packets in, smoltcp's output is taken out for encryption. No allocation per
//! packet once the pool is warm.

use std::collections::VecDeque;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::buf::BufPool;

/// Queue-backed IP device.
#[derive(Debug)]
pub struct QueueDevice {
    pub(super) rx: VecDeque<Vec<u8>>,
    pub(super) tx: VecDeque<Vec<u8>>,
    pub(super) pool: BufPool,
    /// Buffers smoltcp finished reading; returned to `pool` by [`QueueDevice::reclaim`].
    spent: Vec<Vec<u8>>,
    mtu: usize,
}

impl QueueDevice {
    /// A device with this IP MTU.
    pub fn new(mtu: usize) -> Self {
        Self {
            rx: VecDeque::new(),
            tx: VecDeque::new(),
            pool: BufPool::new(mtu, 4096),
            spent: Vec::new(),
            mtu,
        }
    }

    /// Returns buffers smoltcp has consumed to the pool.
    pub fn reclaim(&mut self) {
        for buf in self.spent.drain(..) {
            self.pool.put(buf);
        }
    }
}

/// Hands one received packet to smoltcp.
#[derive(Debug)]
pub struct RxToken<'a> {
    buf: Vec<u8>,
    spent: &'a mut Vec<Vec<u8>>,
}

/// Lets smoltcp write one packet into a pooled buffer.
#[derive(Debug)]
pub struct TxToken<'a> {
    tx: &'a mut VecDeque<Vec<u8>>,
    pool: &'a mut BufPool,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(&self.buf);
        self.spent.push(self.buf);
        r
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = self.pool.get();
        buf.resize(len, 0);
        let r = f(&mut buf);
        self.tx.push_back(buf);
        r
    }
}

impl Device for QueueDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let buf = self.rx.pop_front()?;
        Some((
            RxToken {
                buf,
                spent: &mut self.spent,
            },
            TxToken {
                tx: &mut self.tx,
                pool: &mut self.pool,
            },
        ))
    }

    fn transmit(&mut self, _: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            tx: &mut self.tx,
            pool: &mut self.pool,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        caps.max_burst_size = None;
        caps
    }
}

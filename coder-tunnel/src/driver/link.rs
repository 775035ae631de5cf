//! The driver's connection to a coordinator: two bounded channels, so any transport (the
//! server's WebSocket endpoint, or [`MemoryCoordinatorHub`] in tests) can be plugged in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Tunnel, TunnelConfig};
use crate::addr::ServicePrefix;
use crate::coord::{CoordinateRequest, CoordinateResponse, InMemoryCoordinator, Role};
use crate::error::Error;

/// A tunnel's end of a coordinator connection.
#[derive(Debug)]
pub struct CoordinatorLink {
    /// Requests from the tunnel.
    pub requests: mpsc::Sender<CoordinateRequest>,
    /// Responses to the tunnel.
    pub responses: mpsc::Receiver<CoordinateResponse>,
}

impl CoordinatorLink {
    /// A link to nowhere, for tunnels with only static peers.
    pub fn none() -> Self {
        let (requests, mut sink) = mpsc::channel(16);
        let (_keep, responses) = mpsc::channel(1);
        tokio::spawn(async move {
            let _keep = _keep;
            while sink.recv().await.is_some() {}
        });
        Self {
            requests,
            responses,
        }
    }
}

#[derive(Default)]
struct HubInner {
    coord: InMemoryCoordinator,
    peers: HashMap<Uuid, mpsc::UnboundedSender<CoordinateResponse>>,
}

/// An in-process coordinator shared by tunnels in one process (tests, examples).
#[derive(Clone, Default)]
pub struct MemoryCoordinatorHub {
    inner: Arc<Mutex<HubInner>>,
}

impl std::fmt::Debug for MemoryCoordinatorHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryCoordinatorHub")
    }
}

impl MemoryCoordinatorHub {
    /// A hub that lets any client reach any agent.
    pub fn new() -> Self {
        let hub = Self::default();
        if let Ok(mut inner) = hub.inner.lock() {
            inner.coord = InMemoryCoordinator::new().allow_all();
        }
        hub
    }

    /// Connects a client.
    pub fn connect_client(&self, id: Uuid) -> CoordinatorLink {
        self.connect(id, Role::Client)
    }

    /// Connects an agent.
    pub fn connect_agent(&self, id: Uuid) -> CoordinatorLink {
        self.connect(id, Role::Agent)
    }

    /// Starts an agent and a client tunnel on this hub, both on loopback UDP and homed on the
    /// relay at `relay_url`; `configure` adjusts both configurations first. Not yet connected:
    /// the caller decides when to `client.add_tunnel(agent.id())`. Returns `(client, agent)`.
    pub async fn start_loopback_pair(
        &self,
        relay_url: &str,
        configure: impl Fn(&mut TunnelConfig),
    ) -> Result<(Tunnel, Tunnel), Error> {
        let agent_id = Uuid::new_v4();
        let mut agent = TunnelConfig::agent(ServicePrefix::DEFAULT, agent_id);
        let mut client = TunnelConfig::client(ServicePrefix::DEFAULT);
        for c in [&mut agent, &mut client] {
            c.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            c.relay = Some((relay_url.to_owned(), 1));
            configure(c);
        }
        let client_id = client.id;
        let agent = Tunnel::start(agent, self.connect_agent(agent_id)).await?;
        let client = Tunnel::start(client, self.connect_client(client_id)).await?;
        Ok((client, agent))
    }

    fn deliver(inner: &mut HubInner, out: Vec<(Uuid, CoordinateResponse)>) {
        for (to, resp) in out {
            if let Some(tx) = inner.peers.get(&to) {
                let _ = tx.send(resp);
            }
        }
    }

    fn connect(&self, id: Uuid, role: Role) -> CoordinatorLink {
        let (req_tx, mut req_rx) = mpsc::channel::<CoordinateRequest>(64);
        let (resp_tx, mut resp_rx) = mpsc::unbounded_channel();
        let (out_tx, out_rx) = mpsc::channel(64);
        if let Ok(mut inner) = self.inner.lock() {
            inner.peers.insert(id, resp_tx);
            let out = inner.coord.connect(id, role);
            Self::deliver(&mut inner, out);
        }
        // Forward hub responses into the bounded link channel.
        tokio::spawn(async move {
            while let Some(r) = resp_rx.recv().await {
                if out_tx.send(r).await.is_err() {
                    break;
                }
            }
        });
        let hub = self.inner.clone();
        tokio::spawn(async move {
            let mut graceful = false;
            while let Some(req) = req_rx.recv().await {
                graceful |= req == CoordinateRequest::Disconnect;
                if let Ok(mut inner) = hub.lock() {
                    let out = inner.coord.handle(id, req);
                    Self::deliver(&mut inner, out);
                }
            }
            if let Ok(mut inner) = hub.lock() {
                inner.peers.remove(&id);
                if !graceful {
                    let out = inner.coord.lose(id);
                    Self::deliver(&mut inner, out);
                }
            }
        });
        CoordinatorLink {
            requests: req_tx,
            responses: out_rx,
        }
    }
}

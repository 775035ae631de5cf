//! Network namespaces, veth pairs and wireguard-go for the interop test
//! (`tests/interop_wireguard_go.rs`) and the netns benchmark (`benches/netns.rs`, which
//! includes this file with `#[path]`). Everything created here is removed on drop, also when
//! the caller panics: wireguard-go processes are killed, namespaces deleted.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coder_tunnel::keys::{NodeKey, NodePublic};

/// Runs `cmd args`, returns its stdout, or an error with its stderr.
pub fn run(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether `tool` is on `PATH`.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Checks that we are root, have `/dev/net/tun` and every `(tool, Debian package)`; with
/// `install`, missing packages are `apt-get install`ed first. The error is a one-line reason
/// to skip.
pub fn check_machine(tools: &[(&str, &str)], install: bool) -> Result<(), String> {
    if run("id", &["-u"]).map(|s| s.trim() == "0") != Ok(true) {
        return Err("not root".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err("/dev/net/tun is missing".into());
    }
    let missing = || -> Vec<&str> {
        tools
            .iter()
            .filter(|(tool, _)| !have(tool))
            .map(|(_, package)| *package)
            .collect()
    };
    let first = missing();
    if !first.is_empty() && install {
        let _ = Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&first)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let left = missing();
    if left.is_empty() {
        Ok(())
    } else {
        Err(format!("not installed: {}", left.join(", ")))
    }
}

/// Moves the calling thread into the namespace `name` (`setns(2)`). Sockets the thread
/// creates afterwards, and threads it spawns, live there.
pub fn enter(name: &str) -> Result<(), String> {
    let f = std::fs::File::open(format!("/var/run/netns/{name}"))
        .map_err(|e| format!("open netns {name}: {e}"))?;
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("setns {name}: {e}"))
}

/// Every kernel counter of the namespace `name` (`nstat`: SNMP, TcpExt, ...), every
/// interface's packet drops (`<ifname>.rx_dropped`, `<ifname>.tx_dropped`) and the machine's
/// receive-backlog drops (`softnet.dropped`, from `/proc/net/softnet_stat`, not per namespace),
/// by name. Counters that cannot be read are missing.
pub fn counters(name: &str) -> BTreeMap<String, u64> {
    let exec = |args: &[&str]| {
        let mut v = vec!["netns", "exec", name];
        v.extend_from_slice(args);
        run("ip", &v).unwrap_or_default()
    };
    let mut map = BTreeMap::new();
    for line in exec(&["nstat", "-asz"]).lines() {
        let mut f = line.split_whitespace();
        if let (Some(name), Some(Ok(v))) = (f.next(), f.next().map(str::parse)) {
            map.insert(name.to_owned(), v);
        }
    }
    let links: serde_json::Value =
        serde_json::from_str(&exec(&["ip", "-s", "-j", "link"])).unwrap_or_default();
    for link in links.as_array().into_iter().flatten() {
        let ifname = link["ifname"].as_str().unwrap_or("?");
        for dir in ["rx", "tx"] {
            if let Some(n) = link["stats64"][dir]["dropped"].as_u64() {
                map.insert(format!("{ifname}.{dir}_dropped"), n);
            }
        }
    }
    let softnet = std::fs::read_to_string("/proc/net/softnet_stat").unwrap_or_default();
    let dropped = softnet
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter_map(|h| u64::from_str_radix(h, 16).ok())
        .sum();
    map.insert("softnet.dropped".to_owned(), dropped);
    map
}

/// A network namespace with `lo` up; deleted on drop.
#[derive(Debug)]
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates the namespace `name` (make it unique, e.g. with the pid).
    pub fn new(name: String) -> Result<Self, String> {
        run("ip", &["netns", "add", &name]).map_err(|e| format!("cannot create a netns: {e}"))?;
        let ns = Self { name };
        ns.exec(&["ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Runs a command inside the namespace, returns its stdout.
    pub fn exec(&self, args: &[&str]) -> Result<String, String> {
        let mut v = vec!["netns", "exec", &self.name];
        v.extend_from_slice(args);
        run("ip", &v)
    }

    /// A command that will run `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// This namespace's [`counters`].
    pub fn counters(&self) -> BTreeMap<String, u64> {
        counters(&self.name)
    }

    /// Joins `self` and `peer` with a veth pair: `ifname` here with `addr` (CIDR),
    /// `peer_ifname` there with `peer_addr`, both up with MTU 1500.
    pub fn veth_to(
        &self,
        ifname: &str,
        addr: &str,
        peer: &Netns,
        peer_ifname: &str,
        peer_addr: &str,
    ) -> Result<(), String> {
        #[rustfmt::skip]
        self.exec(&["ip", "link", "add", ifname, "type", "veth", "peer", "name", peer_ifname,
                    "netns", &peer.name])?;
        for (ns, ifname, addr) in [(self, ifname, addr), (peer, peer_ifname, peer_addr)] {
            ns.exec(&["ip", "addr", "add", addr, "dev", ifname])?;
            ns.exec(&["ip", "link", "set", ifname, "mtu", "1500", "up"])?;
        }
        Ok(())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}

/// A wireguard-go process with its TUN device `ifname` in a namespace; killed on drop.
#[derive(Debug)]
pub struct WireguardGo {
    pub ifname: String,
    pub key: NodeKey,
    child: Option<Child>,
    dir: PathBuf,
}

impl WireguardGo {
    /// Starts `wireguard-go -f ifname` in `ns` with a fresh key and waits for its UAPI socket.
    pub fn start(ns: &Netns, ifname: String) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("ct-{}-{ifname}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let child = ns
            .command("wireguard-go")
            .args(["-f", &ifname])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("wireguard-go: {e}"))?;
        let wg = Self {
            ifname,
            key: NodeKey::generate(),
            child: Some(child),
            dir,
        };
        let start = Instant::now();
        while !Path::new(&wg.socket()).exists() {
            if start.elapsed() > Duration::from_secs(10) {
                return Err("wireguard-go did not create its TUN device".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(wg)
    }

    fn socket(&self) -> String {
        format!("/var/run/wireguard/{}.sock", self.ifname)
    }

    /// The process id, for CPU accounting.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `wg set`: our key, `listen_port`, and one peer.
    pub fn configure(
        &self,
        listen_port: u16,
        peer: &NodePublic,
        allowed: &str,
        endpoint: &str,
    ) -> Result<(), String> {
        use base64::Engine as _;
        let keyfile = self.dir.join("wg.key");
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.key.to_bytes());
        std::fs::write(&keyfile, b64).map_err(|e| e.to_string())?;
        let keyfile = keyfile.to_str().ok_or("temp dir is not UTF-8")?;
        let port = listen_port.to_string();
        run(
            "wg",
            &[
                "set",
                &self.ifname,
                "private-key",
                keyfile,
                "listen-port",
                &port,
            ],
        )?;
        self.add_peer(peer, allowed, endpoint)
    }

    /// `wg set`: one more peer (or new settings for a known one).
    pub fn add_peer(&self, peer: &NodePublic, allowed: &str, endpoint: &str) -> Result<(), String> {
        let peer = peer.to_base64();
        #[rustfmt::skip]
        run("wg", &["set", &self.ifname, "peer", &peer, "allowed-ips", allowed,
                    "endpoint", endpoint])?;
        Ok(())
    }

    /// Adds `cidr` (IPv6, no DAD) to the TUN device in `ns` and sets it up with `mtu`.
    pub fn address(&self, ns: &Netns, cidr: &str, mtu: usize) -> Result<(), String> {
        #[rustfmt::skip]
        ns.exec(&["ip", "-6", "addr", "add", cidr, "dev", &self.ifname, "nodad"])?;
        let mtu = mtu.to_string();
        ns.exec(&["ip", "link", "set", &self.ifname, "mtu", &mtu, "up"])?;
        Ok(())
    }
}

impl Drop for WireguardGo {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(self.socket());
    }
}

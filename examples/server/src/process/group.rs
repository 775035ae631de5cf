//! Workspace processes identified by more than a pid: each agent command leads its own
//! process group, recorded with the leader's start time, and the server signals a group only
//! when it can prove the group is still the one it started. A pid the kernel recycled after
//! the workspace's processes exited (the server may have restarted in between) is left alone.
//!
//! On Linux the proof reads `/proc`: the leader with the recorded start time, or, once the
//! leader has exited, members of the group (the kernel never reuses a pid while a process
//! group of that number exists). Elsewhere, only a child this server process started and has
//! not yet reaped is provably its own.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// One started agent process; its pid is also its process-group id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessEntry {
    /// The agent it belongs to.
    pub agent: String,
    /// Process id (and process-group id).
    pub pid: i32,
    /// The leader's start time, in clock ticks since boot (Linux `/proc/<pid>/stat`), or
    /// `None` where the platform does not tell it.
    #[serde(default)]
    pub start_time: Option<u64>,
}

/// What the server can prove about a recorded process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// It is the group the server started, and something in it still runs.
    Running,
    /// Nothing of it runs any more.
    Gone,
    /// Its pid now belongs to another process: never signal it.
    Recycled,
    /// The server cannot tell: never signal it.
    Unproven,
}

/// The children this server process started and has not reaped yet.
#[derive(Debug, Default, Clone)]
pub struct Children(Arc<Mutex<HashSet<i32>>>);

impl Children {
    /// Records a started child; `reaped` forgets it.
    pub fn started(&self, pid: i32) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(pid);
    }

    /// Forgets a child once waited for.
    pub fn reaped(&self, pid: i32) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&pid);
    }

    #[cfg_attr(
        target_os = "linux",
        allow(dead_code, reason = "Linux proves ownership by /proc")
    )]
    fn contains(&self, pid: i32) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&pid)
    }
}

/// The entry for a process just started as a group leader.
pub fn entry(agent: &str, pid: i32) -> ProcessEntry {
    ProcessEntry {
        agent: agent.to_owned(),
        pid,
        start_time: proc_stat::read(pid).map(|s| s.start_time),
    }
}

/// What the server can prove about `entry`'s group now.
pub fn ownership(entry: &ProcessEntry, children: &Children) -> Ownership {
    #[cfg(target_os = "linux")]
    {
        let _ = children;
        let Some(recorded) = entry.start_time else {
            return Ownership::Unproven;
        };
        match proc_stat::read(entry.pid) {
            Some(s) if s.start_time != recorded || s.pgrp != entry.pid => Ownership::Recycled,
            // The leader runs, or has exited (a zombie, or reaped) with members left.
            Some(s) if !s.zombie => Ownership::Running,
            _ if proc_stat::group_has_members(entry.pid) => Ownership::Running,
            _ => Ownership::Gone,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        if children.contains(entry.pid) {
            Ownership::Running
        } else {
            Ownership::Unproven
        }
    }
}

/// Sends `signal` to the group (callers prove [`Ownership::Running`] first).
pub fn signal(entry: &ProcessEntry, signal: Signal) {
    let _ = killpg(Pid::from_raw(entry.pid), signal);
}

#[cfg(target_os = "linux")]
mod proc_stat {
    //! `/proc/<pid>/stat`: the fields after the command name, which may hold spaces and
    //! parentheses, so they are counted from its last `)`.

    pub(super) struct Stat {
        pub(super) zombie: bool,
        pub(super) pgrp: i32,
        pub(super) start_time: u64,
    }

    pub(super) fn read(pid: i32) -> Option<Stat> {
        parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    pub(super) fn parse(stat: &str) -> Option<Stat> {
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After the name: state(3) ppid(4) pgrp(5) ... starttime(22), numbered as in proc(5).
        Some(Stat {
            zombie: matches!(*fields.first()?, "Z" | "X"),
            pgrp: fields.get(2)?.parse().ok()?,
            start_time: fields.get(19)?.parse().ok()?,
        })
    }

    /// Whether any live (not zombie) process is in group `pgid` (its leader may have exited).
    pub(super) fn group_has_members(pgid: i32) -> bool {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return false;
        };
        dir.flatten().any(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
                .and_then(read)
                .is_some_and(|s| s.pgrp == pgid && !s.zombie)
        })
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn fields_are_counted_after_the_last_parenthesis() {
            let line = "4242 (sh (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
            let stat = super::parse(line).unwrap_or_else(|| panic!("parse"));
            assert_eq!(
                (stat.zombie, stat.pgrp, stat.start_time),
                (false, 4242, 987_654)
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod proc_stat {
    //! No portable start time: entries carry none, and ownership falls back to [`Children`].

    #[allow(
        dead_code,
        reason = "never constructed where no platform source exists"
    )]
    pub(super) struct Stat {
        pub(super) start_time: u64,
    }

    pub(super) fn read(_pid: i32) -> Option<Stat> {
        None
    }
}

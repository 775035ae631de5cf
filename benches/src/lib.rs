//! Shared workloads for the benchmarks, so each bench and its baseline measure the same input.
//!
//! Run every benchmark with `cargo bench -p coder-benches`; each prints its figures and the
//! ratio to its baseline measured in the same run.

pub mod chat_workload;
pub mod ratio;

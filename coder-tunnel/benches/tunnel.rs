//! Benchmarks (placeholder until the bench harness lands).

fn main() {}

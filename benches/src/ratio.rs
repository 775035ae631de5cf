//! Ratios of two workloads measured alternately in the same process.

use std::time::{Duration, Instant};

/// Median time per run of `work` over `rounds` rounds of `runs` runs each; `prepare` builds
/// each run's input outside the timed region.
pub fn median_per_run<I, O>(
    rounds: usize,
    runs: usize,
    mut prepare: impl FnMut() -> I,
    mut work: impl FnMut(I) -> O,
) -> Duration {
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let inputs: Vec<I> = (0..runs).map(|_| prepare()).collect();
        let start = Instant::now();
        for input in inputs {
            std::hint::black_box(work(input));
        }
        samples.push(start.elapsed() / u32::try_from(runs.max(1)).unwrap_or(u32::MAX));
    }
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// Prints `name: value (ratio x baseline)` and returns the ratio.
pub fn report(name: &str, value: Duration, baseline_name: &str, baseline: Duration) -> f64 {
    let ratio = value.as_secs_f64() / baseline.as_secs_f64().max(f64::MIN_POSITIVE);
    println!("{name}: {value:?} per run = {ratio:.3} x {baseline_name} ({baseline:?})");
    ratio
}

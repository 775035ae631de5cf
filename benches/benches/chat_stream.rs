//! Decoding a 256-event chat stream frame vs applying it to the client view.
//!
//! Target: applying a frame costs at most as much as decoding it (ratio <= 1.0), so the view
//! never becomes the bottleneck of a chat UI. `cargo bench -p coder-benches --bench chat_stream`

use coder_benches::chat_workload::{apply, decode, frame_events, frame_json, ready_view};
use coder_benches::ratio::{median_per_run, report};
use criterion::{BatchSize, Criterion};

fn main() {
    let events = frame_events();
    let frame = frame_json(&events);
    let (view, stream) = ready_view();

    let mut criterion = Criterion::default().configure_from_args();
    criterion.bench_function("chat_stream/decode_256", |b| b.iter(|| decode(&frame)));
    criterion.bench_function("chat_stream/apply_256", |b| {
        b.iter_batched(
            || (view.clone(), events.clone()),
            |(mut v, e)| apply(&mut v, stream, e),
            BatchSize::SmallInput,
        )
    });
    criterion.final_summary();

    // The ratio, measured alternately in this process (inputs prepared outside the timing).
    let decode_time = median_per_run(15, 200, || (), |()| decode(&frame));
    let apply_time = median_per_run(
        15,
        200,
        || (view.clone(), events.clone()),
        |(mut v, e)| apply(&mut v, stream, e),
    );
    println!("frame: {} events, {} bytes", events.len(), frame.len());
    let ratio = report("apply_256", apply_time, "decode_256", decode_time);
    println!(
        "target: apply <= 1.00 x decode -> {}",
        if ratio <= 1.0 { "met" } else { "NOT met" }
    );
}

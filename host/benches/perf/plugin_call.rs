//! Plugin call overhead (issue 22): a call in a fresh instance of the test fixture
//! (`test_connection`: one loopback `GET /info` through the host import, the answer parsed in the
//! sandbox) against a plain reqwest GET of the same URL with the body parsed as JSON, measured
//! interleaved in one run. Overhead = the difference of the p50s; goal ≤ +50 µs.
//!
//! Each call runs in an instance no call has used, made by the host after the previous call in a
//! task of its own (and the used one dropped there), off the call's path; the bench waits for that
//! task, untimed, before it times the next row.
//!
//! The breakdown rows: creating and dropping a fresh instance alone; a call in a fresh instance
//! that makes no request (the fixture reads one setting and returns an error); and what the
//! request through the host import adds over the plain GET (the full call minus the call
//! without a request minus the plain GET).

#[path = "plugin_setup.rs"]
pub mod setup;

use super::table::{Table, p50_p99};
use std::time::Duration;

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn signed_us(d: f64) -> String {
    format!("{:+.1} µs", d * 1e6)
}

/// Calls per row (`short`: fewer, for CI's quick check).
pub fn run(t: &mut Table, short: bool) {
    let calls = if short { 1000 } else { 5000 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (plain, call, bare, inst) = rt.block_on(async {
        let bench = setup::CallBench::start(dir.path()).await;
        for _ in 0..300 {
            bench.plain_get().await;
            bench.plugin_call().await;
            bench.call_without_request().await;
            bench.instantiate().await;
        }
        // Interleaved, so a busy moment of the (shared) machine hits every row alike.
        let mut plain = Vec::with_capacity(calls);
        let mut call = Vec::with_capacity(calls);
        let mut bare = Vec::with_capacity(calls);
        let mut inst = Vec::with_capacity(calls);
        for _ in 0..calls {
            plain.push(bench.plain_get().await);
            call.push(bench.plugin_call().await);
            bare.push(bench.call_without_request().await);
            inst.push(bench.instantiate().await);
        }
        bench.host.shutdown().await;
        (plain, call, bare, inst)
    });
    let (plain_p50, plain_p99) = p50_p99(plain);
    let (call_p50, call_p99) = p50_p99(call);
    let (bare_p50, bare_p99) = p50_p99(bare);
    let (inst_p50, inst_p99) = p50_p99(inst);
    let overhead = call_p50.as_secs_f64() - plain_p50.as_secs_f64();
    t.info(
        "baseline: plain reqwest GET + JSON parse, loopback",
        format!("p50 {}, p99 {}", us(plain_p50), us(plain_p99)),
    );
    t.info(
        "plugin call: fresh instance + the same GET via the host import",
        format!("p50 {}, p99 {}", us(call_p50), us(call_p99)),
    );
    t.goal(
        "plugin call overhead over the plain GET (difference of p50s)",
        signed_us(overhead),
        "≤ +50 µs",
        overhead <= 50e-6,
    );
    t.info(
        "  fresh instance created and dropped (done between calls, off their path)",
        format!("p50 {}, p99 {}", us(inst_p50), us(inst_p99)),
    );
    t.info(
        "  of which: call in a fresh instance without a request",
        format!("p50 {}, p99 {}", us(bare_p50), us(bare_p99)),
    );
    t.info(
        "  of which: the request via the host import, beyond the plain GET",
        signed_us(overhead - bare_p50.as_secs_f64()),
    );
    t.ratio(
        "plugin call: p50 over a plain reqwest GET",
        call_p50.as_secs_f64() / plain_p50.as_secs_f64().max(1e-9),
    );
}

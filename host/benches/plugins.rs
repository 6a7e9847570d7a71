//! Plugin host benchmark (`cargo bench -p zondarr --bench plugins`): prints a table.
//!
//! - cold compile vs cached load of the fixture component (the load pipeline's compile step,
//!   and the whole pipeline including `describe()`);
//! - a call in a fresh instance (`test_connection` against a loopback axum server, one HTTP
//!   request through the host import) vs a plain reqwest GET of the same URL, measured
//!   interleaved, with a call that makes no request and a bare instantiation for the breakdown
//!   (setup shared with the perf bench's `plugin_call` section, `perf/plugin_setup.rs`);
//! - hot swap: reloading a changed file (cache miss and cache hit), the swap itself, and
//!   file-written → served through the watcher.
//!
//! Environment: `BENCH_CALLS` (default 2000) calls per call measurement, `BENCH_ROUNDS`
//! (default 5) repetitions of the load measurements.

// A benchmark is a test tool: a failed setup step should stop it loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "perf/plugin_setup.rs"]
mod plugin_setup;

use plugin_setup::{config, fixture, install};
use std::time::{Duration, Instant};
use zondarr::plugins::{PluginHost, ServerContext};

fn env_num(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn with_version(bytes: &[u8], version: &str) -> Vec<u8> {
    let from = b"ZONDARR-FIXTURE-VERSION=0.1.0;";
    let to = format!("ZONDARR-FIXTURE-VERSION={version};");
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("version tag in the fixture");
    let mut out = bytes.to_vec();
    out[at..at + from.len()].copy_from_slice(to.as_bytes());
    out
}

struct Stats {
    samples: Vec<Duration>,
}

impl Stats {
    fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        Self { samples }
    }
    fn pct(&self, p: f64) -> Duration {
        let i = ((self.samples.len() as f64 - 1.0) * p).round() as usize;
        self.samples[i]
    }
    fn mean(&self) -> Duration {
        self.samples.iter().sum::<Duration>() / self.samples.len() as u32
    }
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

struct Table {
    rows: Vec<(String, String, String, String, String)>,
}

impl Table {
    fn add(&mut self, what: &str, n: usize, s: &Stats) {
        self.rows.push((
            what.to_owned(),
            n.to_string(),
            fmt(s.pct(0.5)),
            fmt(s.mean()),
            fmt(s.pct(0.99)),
        ));
    }
    fn print(&self) {
        println!("\n| measurement | n | median | mean | p99 |\n|---|---|---|---|---|");
        for (a, b, c, d, e) in &self.rows {
            println!("| {a} | {b} | {c} | {d} | {e} |");
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let calls = env_num("BENCH_CALLS", 2000);
    let rounds = env_num("BENCH_ROUNDS", 5);
    let bytes = fixture();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut table = Table { rows: Vec::new() };
    println!(
        "fixture: {} bytes; {rounds} rounds; {calls} calls",
        bytes.len()
    );

    // --- Cold compile vs cached load -----------------------------------------------------
    let mut cold_compile = Vec::new();
    let mut cold_total = Vec::new();
    let mut hit_compile = Vec::new();
    let mut hit_total = Vec::new();
    let mut pooling = false;
    for round in 0..rounds {
        let cache = tmp.path().join(format!("cache-{round}"));
        let host = PluginHost::standalone(&config(tmp.path(), false), Some(cache)).expect("host");
        pooling = host.uses_pooling();
        let started = Instant::now();
        let cold = host.inspect(&bytes).await.expect("cold load");
        cold_total.push(started.elapsed());
        assert!(!cold.from_cache);
        cold_compile.push(cold.timings.compile);
        let started = Instant::now();
        let hit = host.inspect(&bytes).await.expect("cached load");
        hit_total.push(started.elapsed());
        assert!(hit.from_cache);
        hit_compile.push(hit.timings.compile);
        host.shutdown().await;
    }
    table.add(
        "compile, cache miss (Cranelift, spawn_blocking)",
        rounds,
        &Stats::new(cold_compile),
    );
    table.add(
        "compile step, cache hit (read + checksum + deserialize)",
        rounds,
        &Stats::new(hit_compile),
    );
    table.add(
        "whole load pipeline, cache miss (incl. describe)",
        rounds,
        &Stats::new(cold_total),
    );
    table.add(
        "whole load pipeline, cache hit (incl. describe)",
        rounds,
        &Stats::new(hit_total),
    );

    // --- Call overhead (the `plugin_call` section of the perf bench measures the same) ---------
    let dir = tmp.path().join("calls");
    let bench = plugin_setup::CallBench::start(&dir).await;
    for _ in 0..200 {
        bench.plugin_call().await;
        bench.plain_get().await;
        bench.call_without_request().await;
        bench.instantiate().await;
    }
    let (mut call, mut plain) = (Vec::with_capacity(calls), Vec::with_capacity(calls));
    let (mut bare, mut inst) = (Vec::with_capacity(calls), Vec::with_capacity(calls));
    for _ in 0..calls {
        call.push(bench.plugin_call().await);
        plain.push(bench.plain_get().await);
        bare.push(bench.call_without_request().await);
        inst.push(bench.instantiate().await);
    }
    table.add(
        "test_connection: fresh instance + 1 loopback GET",
        calls,
        &Stats::new(call),
    );
    table.add(
        "baseline: plain reqwest GET + JSON parse, same URL",
        calls,
        &Stats::new(plain),
    );
    table.add(
        "test_connection in a fresh instance, no request (one config import, error)",
        calls,
        &Stats::new(bare),
    );
    table.add(
        "fresh instance created and dropped (no call)",
        calls,
        &Stats::new(inst),
    );
    let host = bench.host;
    let cfg = config(&dir, false);

    // --- Hot swap ------------------------------------------------------------------------------
    let v2 = with_version(&bytes, "0.2.0");
    let mut miss = Vec::new();
    let mut hit = Vec::new();
    for round in 0..rounds {
        // A fresh version each round is a cache miss; switching back to it later is a hit.
        let fresh = with_version(&bytes, &format!("0.9.{round}"));
        install(&cfg.dir, "fixture.wasm", &fresh);
        let started = Instant::now();
        let report = host.rescan().await;
        miss.push(started.elapsed());
        assert_eq!(report.loaded.len(), 1, "{report:?}");
        install(&cfg.dir, "fixture.wasm", &v2);
        host.rescan().await;
        install(&cfg.dir, "fixture.wasm", &fresh);
        let started = Instant::now();
        host.rescan().await;
        hit.push(started.elapsed());
    }
    table.add(
        "reload via rescan, cache miss (read, hash, compile, link, describe, swap)",
        rounds,
        &Stats::new(miss),
    );
    table.add("reload via rescan, cache hit", rounds, &Stats::new(hit));
    host.shutdown().await;

    let dir = tmp.path().join("watch");
    let cfg = config(&dir, true);
    std::fs::create_dir_all(&cfg.dir).expect("mkdir");
    install(&cfg.dir, "fixture.wasm", &bytes);
    let host = PluginHost::start_with_bundled(&cfg, dir.join("cache"), "bench".into(), Vec::new())
        .await
        .expect("start");
    let mut e2e = Vec::new();
    for round in 0..rounds {
        let version = format!("0.8.{round}");
        let written = Instant::now();
        install(&cfg.dir, "fixture.wasm", &with_version(&bytes, &version));
        loop {
            if host
                .manifest("fixture")
                .is_some_and(|m| m.version == version)
            {
                e2e.push(written.elapsed());
                break;
            }
            assert!(written.elapsed() < Duration::from_secs(30), "not served");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    table.add(
        &format!(
            "file written → served via the watcher (debounce {} ms, cache miss)",
            zondarr::plugins::WATCH_DEBOUNCE.as_millis()
        ),
        rounds,
        &Stats::new(e2e),
    );
    host.shutdown().await;

    // --- Jellyfin list_users, 10,000 users ---------------------------------------------------
    let jellyfin = zondarr::plugins::bundled()
        .into_iter()
        .find(|b| b.name == "jellyfin")
        .expect("bundled jellyfin");
    let dir = tmp.path().join("jellyfin");
    let mut cfg = config(&dir, false);
    // GET /Users has no paging: about 21 MB of JSON for 10,000 users.
    cfg.max_response_bytes = 64 * 1024 * 1024;
    let host =
        PluginHost::start_with_bundled(&cfg, dir.join("cache"), "bench".into(), vec![jellyfin])
            .await
            .expect("start");
    let fake = zondarr_fakes::jellyfin::JellyfinFake::start().await;
    fake.seed_users(10_000);
    let ctx = ServerContext::new(fake.base_url()).with_secret("api_key", fake.api_key());
    assert_eq!(
        host.list_users("jellyfin", &ctx)
            .await
            .expect("warm-up")
            .len(),
        10_001
    );
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        fake.clear_requests();
        let started = Instant::now();
        let users = host.list_users("jellyfin", &ctx).await.expect("list_users");
        samples.push(started.elapsed());
        assert_eq!(users.len(), 10_001);
    }
    table.add(
        "jellyfin list_users, 10,000 users (fake, ~21 MB JSON)",
        rounds,
        &Stats::new(samples),
    );
    host.shutdown().await;

    println!("\npooling allocator: {pooling}");
    table.print();
}

//! The performance bench of issue 22 (`cargo bench -p zondarr --bench perf [-- FLAGS]`): every
//! figure of the issue in one table, each with its goal and whether this run met it.
//!
//! Sections (each in `benches/perf/`): `users` — the admin user list at 10,000 and 100,000 users
//! (database layer). `http` — the invitee's first request against a bare axum handler, the
//! crowd behind a proxy, and the user list over HTTP at 10,000 and 100,000 users (the real
//! daemon binary). `join` — a join against Jellyfin servers of 0, 1,000 and 10,000 accounts
//! (the real daemon binary). `plugin_call` — a plugin call in a fresh instance against a plain
//! reqwest GET, with a breakdown. `startup` — the cold first start, the second start and the
//! daemon's resident memory idle, after sign-ins and after 10,000 users and 300,000 validations
//! (the real daemon binary).
//!
//! Flags: `--short` (CI's quick mode: the smaller data sizes only), `--only SECTION` (one
//! section), `--record` (write the run's ratios to `benches/perf-recorded.txt`), `--check`
//! (exit 1 when a ratio is more than 2x the recorded one).
//!
//! Regression check: each figure also has a cost ratio to an in-run baseline (for example one
//! user read by primary key on the same connection, or a bare axum handler in the same process),
//! because absolute times on CI machines are noisy. CI runs
//! `cargo bench --profile dev -p zondarr --bench perf -- --short --check`.

// A benchmark is a test tool: a failed setup step should stop it loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "perf/http.rs"]
mod http;
#[path = "perf/join.rs"]
mod join;
#[path = "perf/plugin_call.rs"]
mod plugin_call;
#[path = "perf/startup.rs"]
mod startup;
/// The integration tests' helpers (start the real binary, the admin key), shared by sections.
#[path = "../../tests/it/support/mod.rs"]
#[allow(dead_code)]
mod support;
#[path = "perf/table.rs"]
mod table;
#[path = "perf/users.rs"]
mod users;
#[path = "perf/wrk.rs"]
mod wrk;

use table::Table;

type Section = (&'static str, fn(&mut Table, bool));

/// Every section, in table order. A section adds rows (with goals) and cost ratios.
const SECTIONS: &[Section] = &[
    ("users", users::run),
    ("http", http::run),
    ("join", join::run),
    ("plugin_call", plugin_call::run),
    ("startup", startup::run),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    if let Some(name) = only {
        assert!(
            SECTIONS.iter().any(|(n, _)| n == name),
            "no section {name}; sections: {:?}",
            SECTIONS.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
    }
    let short = flag("--short");
    let mut t = Table::default();
    // Each section run, with the range of ratios it added.
    let mut ran = Vec::new();
    for &(name, run) in SECTIONS {
        if only.is_none_or(|o| o == name) {
            eprintln!("== section {name}");
            let from = t.ratios.len();
            run(&mut t, short);
            ran.push((name, run, from..t.ratios.len()));
        }
    }
    t.print();
    let recorded =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/perf-recorded.txt");
    if flag("--record") {
        t.record(&recorded);
    }
    if flag("--check") {
        // A real regression is worse in every run; a burst of noise on a shared machine is not
        // (CI once saw one row's p50 double between two runs of the same code). The sections of
        // the figures over 2x are measured once more and each figure keeps its better ratio:
        // the check fails only on a figure more than 2x worse in both runs.
        let (_, worse) = t.regressions(&recorded);
        if !worse.is_empty() {
            for (label, now, r) in &worse {
                println!("over 2x in the first run: {label}: ratio {now:.2}, recorded {r:.2}");
            }
            let mut again = Table::default();
            for (name, run, range) in &ran {
                if t.ratios[range.clone()]
                    .iter()
                    .any(|(l, _)| worse.iter().any(|(w, _, _)| w == l))
                {
                    eprintln!("== section {name}, again (a figure was over 2x)");
                    run(&mut again, short);
                }
            }
            t.keep_better(&again);
        }
        if !t.check(&recorded) {
            std::process::exit(1);
        }
    }
}

//! Performance bench for issue 22 (`cargo bench -p zondarr --bench perf [-- --short]`): prints
//! one table. So far it covers the admin user list (item 1): `db::users::list`, the function the
//! `GET /api/v1/users` handler calls, on a real SQLite file with every migration, at 10,000 and
//! 100,000 users (`--short`: 10,000 only), p50/p99 over 200 calls per row. The remaining figures
//! of the issue (join, memory, cold start, plugin call, bare axum baseline) are not in it yet.
//!
//! Regression check: each figure's p50 is also printed as a ratio to an in-run baseline (one user
//! read by primary key on the same connection), because absolute times on CI machines are noisy.
//! `--record` writes those ratios to `host/benches/perf-recorded.txt`; `--check` fails (exit 1)
//! when a ratio is more than 2x the recorded one. CI: `cargo bench --profile dev -p zondarr
//! --bench perf -- --short --check`.

// A benchmark is a test tool: a failed setup step should stop it loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use rusqlite::Connection;
use std::time::{Duration, Instant};
use zondarr::db::users::{Filter, list};

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn seed(c: &Connection, n: usize) {
    c.execute_batch(&format!(
        "INSERT INTO servers(id, name, kind, base_url, created_at, updated_at) VALUES
           (1, 'Jellyfin', 'jellyfin', 'http://a', '2026', '2026'),
           (2, 'Plex', 'plex', 'http://b', '2026', '2026');
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
         INSERT INTO users(server_id, external_id, username, email, enabled, expires_at, source,
                           created_at, updated_at)
         SELECT 1 + i % 2, 'e' || i, 'Member' || ((i * 7919) % {n}) || '_' || i, 'm' || i || '@example.org',
                i % 5 <> 0, CASE WHEN i % 3 = 0 THEN NULL ELSE printf('2030-%06d', i) END,
                'sync', printf('2026-%06d', i), '2026'
         FROM n;"
    ))
    .unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let short = flag("--short");
    let mut ratios: Vec<(String, f64)> = Vec::new();
    let sizes: &[usize] = if short { &[10_000] } else { &[10_000, 100_000] };
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for &n in sizes {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Connection::open(dir.path().join("zondarr.db")).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")
            .unwrap();
        zondarr::db::migrate(&mut c).unwrap();
        seed(&c, n);
        let per_page = 50i64;
        let last = (n as i64 / per_page - 1) * per_page;
        let server = Filter {
            server_id: Some(2),
            ..Filter::default()
        };
        let disabled = Filter {
            enabled: Some(false),
            ..Filter::default()
        };
        let cases: Vec<(&str, Filter, &str, bool, i64)> = vec![
            (
                "first page, default order",
                Filter::default(),
                "u.username COLLATE NOCASE",
                false,
                0,
            ),
            (
                "last page, default order",
                Filter::default(),
                "u.username COLLATE NOCASE",
                false,
                last,
            ),
            (
                "middle page, newest first",
                Filter::default(),
                "u.created_at",
                true,
                last / 2,
            ),
            (
                "first page by expiry",
                Filter::default(),
                "coalesce(u.expires_at, '9999')",
                false,
                0,
            ),
            (
                "first page by server",
                Filter::default(),
                "s.name COLLATE NOCASE",
                false,
                0,
            ),
            (
                "one server, last page",
                server,
                "u.username COLLATE NOCASE",
                false,
                last / 2 - per_page,
            ),
            (
                "disabled only, first page",
                disabled,
                "u.username COLLATE NOCASE",
                false,
                0,
            ),
        ];
        let mut base = Vec::with_capacity(2000);
        for i in 0..2000i64 {
            let started = Instant::now();
            let name: String = c
                .query_row(
                    "SELECT username FROM users WHERE id = ?1",
                    [1 + i % n as i64],
                    |r| r.get(0),
                )
                .unwrap();
            base.push(started.elapsed());
            assert!(!name.is_empty());
        }
        base.sort();
        let base_p50 = pct(&base, 0.5);
        rows.push((
            format!("baseline, {n} users: one user by primary key"),
            format!("p50 {}", ms(base_p50)),
            format!("p99 {}", ms(pct(&base, 0.99))),
        ));
        for (label, filter, sort, desc, offset) in cases {
            let mut samples = Vec::with_capacity(200);
            for _ in 0..200 {
                let started = Instant::now();
                let (items, total) = list(&c, &filter, sort, desc, per_page, offset).unwrap();
                samples.push(started.elapsed());
                assert!(!items.is_empty() && total > 0, "{label}");
            }
            samples.sort();
            ratios.push((
                format!("user list, {n} users: {label}"),
                pct(&samples, 0.5).as_secs_f64() / base_p50.as_secs_f64().max(1e-9),
            ));
            rows.push((
                format!("user list, {n} users: {label}"),
                format!("p50 {}", ms(pct(&samples, 0.5))),
                format!("p99 {}", ms(pct(&samples, 0.99))),
            ));
        }
    }
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    println!("| {:w$} | {:>14} | {:>14} |", "Figure", "p50", "p99");
    println!(
        "|{}|{}|{}|",
        "-".repeat(w + 2),
        "-".repeat(16),
        "-".repeat(16)
    );
    for (a, b, c) in rows {
        println!("| {a:w$} | {b:>14} | {c:>14} |");
    }
    println!();
    for (label, r) in &ratios {
        println!("ratio to baseline  {r:>10.1}  {label}");
    }
    let recorded_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/perf-recorded.txt");
    if flag("--record") {
        let text: String = ratios
            .iter()
            .map(|(l, r)| format!("{r:.2}\t{l}\n"))
            .collect();
        std::fs::write(&recorded_path, text).unwrap();
        println!("recorded {}", recorded_path.display());
    }
    if flag("--check") {
        let recorded = std::fs::read_to_string(&recorded_path).unwrap();
        let mut failed = false;
        let mut checked = 0;
        for line in recorded.lines() {
            let (r, label) = line.split_once('\t').unwrap();
            let r: f64 = r.parse().unwrap();
            if let Some((_, now)) = ratios.iter().find(|(l, _)| l == label) {
                checked += 1;
                if *now > 2.0 * r {
                    println!("REGRESSION: {label}: ratio {now:.1}, recorded {r:.1} (more than 2x)");
                    failed = true;
                }
            }
        }
        assert!(checked > 0, "no recorded figure matched this run");
        if failed {
            std::process::exit(1);
        }
        println!("check: {checked} figures within 2x of the recorded ratios");
    }
}

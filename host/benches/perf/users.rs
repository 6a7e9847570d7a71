//! The admin user list (item 1 of issue 22): `db::users::list`, the function the
//! `GET /api/v1/users` handler and the users page call, on a real SQLite file with every
//! migration and the daemon's connection pragmas, p50/p99 over 200 calls per row, pages of 50.

use super::table::{Table, ms, p50_p99};
use rusqlite::Connection;
use std::time::{Duration, Instant};
use zondarr::db::users::{Filter, list};

/// `n` users on two servers (also the `http` section's data).
pub fn seed(c: &Connection, n: usize) {
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

/// The admin user list at 10,000 and 100,000 users (`short`: 10,000 only).
pub fn run(t: &mut Table, short: bool) {
    let sizes: &[usize] = if short { &[10_000] } else { &[10_000, 100_000] };
    for &n in sizes {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Connection::open(dir.path().join("zondarr.db")).unwrap();
        // The pragmas of every connection the daemon opens (the file read through a memory map
        // among them): the rows measure what `GET /api/v1/users` runs.
        zondarr::db::configure(&mut c, Duration::from_secs(5)).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
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
        // The search the HTTP rows use: "member" is in every name, so its trigrams are in every
        // row of the index.
        let search = Filter {
            server_id: Some(2),
            enabled: Some(true),
            search: Some("member12".into()),
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
            (
                "one server, enabled, search",
                search,
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
        let (base_p50, base_p99) = p50_p99(base);
        t.info(
            format!("baseline, {n} users: one user by primary key"),
            format!("p50 {}, p99 {}", ms(base_p50), ms(base_p99)),
        );
        for (label, filter, sort, desc, offset) in cases {
            let mut samples = Vec::with_capacity(200);
            for _ in 0..200 {
                let started = Instant::now();
                let (items, total) = list(&c, &filter, sort, desc, per_page, offset).unwrap();
                samples.push(started.elapsed());
                assert!(!items.is_empty() && total > 0, "{label}");
            }
            let (p50, p99) = p50_p99(samples);
            let figure = format!("user list, {n} users: {label}");
            t.ratio(
                figure.clone(),
                p50.as_secs_f64() / base_p50.as_secs_f64().max(1e-9),
            );
            t.goal(
                figure,
                format!("p50 {}, p99 {}", ms(p50), ms(p99)),
                "p99 ≤ 5 ms (database layer)",
                p99 <= Duration::from_millis(5),
            );
        }
    }
}

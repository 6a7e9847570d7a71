//! Prometheus metrics: counters and histograms the daemon updates as it works, rendered in the
//! text exposition format (version 0.0.4) for `GET /metrics`.
//!
//! One [`Metrics`] value lives in the application state (no global registry). Every label value
//! comes from a small, fixed set — route templates, never raw paths; plugin ids and operation
//! names; fixed outcome words — so the number of series stays bounded and no invite code or id
//! ever appears in a label. Gauges that describe the current state (pools, loaded plugins) are
//! not stored here; the caller passes a [`Snapshot`] to [`Metrics::render`].
//!
//! This module must not know about HTTP routing or the database; the renderer is plain text
//! formatting and is unit-tested on its own.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Histogram buckets of HTTP request durations, seconds.
const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Histogram buckets of plugin call durations, seconds (calls reach remote servers).
const PLUGIN_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Histogram buckets of background job durations, seconds.
const JOB_BUCKETS: &[f64] = &[0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0];

/// Label values of one series, in the order of the family's label names.
type Key = Vec<String>;

/// A family of counters.
struct Counters {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    values: Mutex<BTreeMap<Key, u64>>,
}

impl Counters {
    const fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        Counters {
            name,
            help,
            labels,
            values: Mutex::new(BTreeMap::new()),
        }
    }

    fn inc(&self, key: Key) {
        let mut values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        *values.entry(key).or_insert(0) += 1;
    }

    fn render(&self, out: &mut String) {
        let values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        write_counter(out, self.name, self.help, self.labels, &values);
    }
}

/// One histogram series: per-bucket counts (not cumulative; the renderer accumulates), the
/// sum and the count of observations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// Add `other`'s observations (same bounds) to this one.
    fn merge(&mut self, other: &Histogram) {
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.sum += other.sum;
        self.count += other.count;
    }

    fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.buckets.len() != bounds.len() {
            self.buckets = vec![0; bounds.len()];
        }
        if let Some(i) = bounds.iter().position(|b| value <= *b) {
            self.buckets[i] += 1;
        }
        self.sum += value;
        self.count += 1;
    }
}

/// A family of histograms.
struct Histograms {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    bounds: &'static [f64],
    values: Mutex<BTreeMap<Key, Histogram>>,
}

impl Histograms {
    const fn new(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
        bounds: &'static [f64],
    ) -> Self {
        Histograms {
            name,
            help,
            labels,
            bounds,
            values: Mutex::new(BTreeMap::new()),
        }
    }

    fn observe(&self, key: Key, value: Duration) {
        let mut values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        values
            .entry(key)
            .or_default()
            .observe(self.bounds, value.as_secs_f64());
    }

    fn render(&self, out: &mut String) {
        let values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        write_histogram(out, self.name, self.help, self.labels, self.bounds, &values);
    }
}

/// State of one database connection pool at render time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolState {
    /// `read` or `write`.
    pub pool: &'static str,
    /// Open connections not in use.
    pub idle: u32,
    /// Connections handed out.
    pub in_use: u32,
}

/// What the daemon looks like right now, for the gauges.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Database pools.
    pub pools: Vec<PoolState>,
    /// Connector plugins loaded.
    pub plugins_loaded: usize,
}

/// The daemon's metrics. Updating takes a short lock per family; nothing here blocks on I/O.
pub struct Metrics {
    /// HTTP requests answered since start (all routes): what tells the daemon it is idle.
    answered: AtomicU64,
    /// HTTP series by route template. Looked up by `&str`, so an answered request allocates
    /// nothing once its series exists (it is counted on every request, the first one of an
    /// invitee included).
    http: Mutex<HashMap<String, Vec<HttpSeries>>>,
    plugin_calls: Counters,
    plugin_duration: Histograms,
    redemptions: Counters,
    job_runs: Counters,
    job_duration: Histograms,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Requests of one route template with one method and one status.
#[derive(Debug, Default)]
struct HttpSeries {
    method: &'static str,
    status: u16,
    count: u64,
    duration: Histogram,
}

/// Name and help of the HTTP request counter (labels method, route, status).
const HTTP_REQUESTS: (&str, &str) = (
    "zondarr_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
);
/// Name and help of the HTTP duration histogram (labels method, route).
const HTTP_DURATION: (&str, &str) = (
    "zondarr_http_request_duration_seconds",
    "Time from receiving an HTTP request to sending the response head.",
);

/// HTTP methods that get their own label value; anything else is `other`.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Self {
        Metrics {
            answered: AtomicU64::new(0),
            http: Mutex::new(HashMap::new()),
            plugin_calls: Counters::new(
                "zondarr_plugin_calls_total",
                "Calls into connector plugins, by plugin, operation and outcome.",
                &["plugin", "operation", "outcome"],
            ),
            plugin_duration: Histograms::new(
                "zondarr_plugin_call_duration_seconds",
                "Duration of calls into connector plugins (including the remote server's time).",
                &["plugin", "operation"],
                PLUGIN_BUCKETS,
            ),
            redemptions: Counters::new(
                "zondarr_redemptions_total",
                "Invitation redemptions: completed, rolled_back (an account failed and the others were removed), refused (before anything was reserved), failed (an internal error after the reservation).",
                &["outcome"],
            ),
            job_runs: Counters::new(
                "zondarr_job_runs_total",
                "Background job runs, by job and outcome.",
                &["job", "outcome"],
            ),
            job_duration: Histograms::new(
                "zondarr_job_run_duration_seconds",
                "Duration of background job runs.",
                &["job"],
                JOB_BUCKETS,
            ),
        }
    }

    /// Count an answered HTTP request. `route` is the route template (`/api/v1/users/{id}`) or
    /// `unmatched`, never the raw path.
    pub fn http_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.answered.fetch_add(1, Ordering::Relaxed);
        let method = METHODS
            .iter()
            .copied()
            .find(|m| *m == method)
            .unwrap_or("other");
        let mut http = self.http.lock().unwrap_or_else(PoisonError::into_inner);
        if !http.contains_key(route) {
            http.insert(route.to_owned(), Vec::new());
        }
        let Some(series) = http.get_mut(route) else {
            return;
        };
        let i = match series
            .iter()
            .position(|s| s.method == method && s.status == status)
        {
            Some(i) => i,
            None => {
                series.push(HttpSeries {
                    method,
                    status,
                    ..HttpSeries::default()
                });
                series.len() - 1
            }
        };
        series[i].count += 1;
        series[i]
            .duration
            .observe(HTTP_BUCKETS, elapsed.as_secs_f64());
    }

    /// The HTTP series as the renderer takes them: counts by (method, route, status) and
    /// durations by (method, route).
    fn http_families(&self) -> (BTreeMap<Key, u64>, BTreeMap<Key, Histogram>) {
        let http = self.http.lock().unwrap_or_else(PoisonError::into_inner);
        let mut counts = BTreeMap::new();
        let mut durations: BTreeMap<Key, Histogram> = BTreeMap::new();
        for (route, series) in http.iter() {
            for s in series {
                counts.insert(
                    vec![s.method.to_owned(), route.clone(), s.status.to_string()],
                    s.count,
                );
                durations
                    .entry(vec![s.method.to_owned(), route.clone()])
                    .or_default()
                    .merge(&s.duration);
            }
        }
        (counts, durations)
    }

    /// HTTP requests answered since start.
    pub fn requests_answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Count a plugin call.
    pub fn plugin_call(&self, plugin: &str, operation: &str, outcome: &str, elapsed: Duration) {
        self.plugin_calls.inc(vec![
            plugin.to_owned(),
            operation.to_owned(),
            outcome.to_owned(),
        ]);
        self.plugin_duration
            .observe(vec![plugin.to_owned(), operation.to_owned()], elapsed);
    }

    /// Count a redemption attempt by outcome (`completed`, `rolled_back`, `refused`, `failed`).
    pub fn redemption(&self, outcome: &str) {
        self.redemptions.inc(vec![outcome.to_owned()]);
    }

    /// Count a run of a background job (`sync`, `expiry`, …) with its outcome (`success`,
    /// `failure`, …) and duration.
    pub fn job_run(&self, job: &str, outcome: &str, duration: Duration) {
        self.job_runs.inc(vec![job.to_owned(), outcome.to_owned()]);
        self.job_duration.observe(vec![job.to_owned()], duration);
    }

    /// Everything in the Prometheus text format. Families without samples still get their
    /// `HELP` and `TYPE` lines, so dashboards and alerts find them from the start.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let mut out = String::with_capacity(8 * 1024);
        write_gauge(
            &mut out,
            "zondarr_build_info",
            "Build information; the value is always 1.",
            &[(vec![("version", env!("CARGO_PKG_VERSION").to_owned())], 1.0)],
        );
        let (counts, durations) = self.http_families();
        write_counter(
            &mut out,
            HTTP_REQUESTS.0,
            HTTP_REQUESTS.1,
            &["method", "route", "status"],
            &counts,
        );
        write_histogram(
            &mut out,
            HTTP_DURATION.0,
            HTTP_DURATION.1,
            &["method", "route"],
            HTTP_BUCKETS,
            &durations,
        );
        self.plugin_calls.render(&mut out);
        self.plugin_duration.render(&mut out);
        write_gauge(
            &mut out,
            "zondarr_plugins_loaded",
            "Connector plugins loaded and serving.",
            &[(Vec::new(), snapshot.plugins_loaded as f64)],
        );
        self.redemptions.render(&mut out);
        self.job_runs.render(&mut out);
        self.job_duration.render(&mut out);
        let pools: Vec<(Vec<(&str, String)>, f64)> = snapshot
            .pools
            .iter()
            .flat_map(|p| {
                [("idle", p.idle), ("in_use", p.in_use)].map(|(state, n)| {
                    (
                        vec![("pool", p.pool.to_owned()), ("state", state.to_owned())],
                        f64::from(n),
                    )
                })
            })
            .collect();
        write_gauge(
            &mut out,
            "zondarr_db_pool_connections",
            "Database connections by pool (read, write) and state (idle, in_use).",
            &pools,
        );
        out
    }
}

impl crate::plugins::CallObserver for Metrics {
    fn plugin_call(&self, plugin: &str, operation: &str, outcome: &str, elapsed: Duration) {
        Metrics::plugin_call(self, plugin, operation, outcome, elapsed);
    }
}

/// A label value with `\`, `"` and line feeds escaped.
fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// `HELP` text with `\` and line feeds escaped.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value: Prometheus spells infinities `+Inf`/`-Inf` and not-a-number `NaN`.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// `{a="x",b="y"}`, or nothing without labels.
fn label_set<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let body: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    if body.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", body.join(","))
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn write_counter(
    out: &mut String,
    name: &str,
    help: &str,
    labels: &[&str],
    values: &BTreeMap<Key, u64>,
) {
    header(out, name, help, "counter");
    for (key, value) in values {
        let set = label_set(labels.iter().copied().zip(key.iter().map(String::as_str)));
        let _ = writeln!(out, "{name}{set} {value}");
    }
}

fn write_histogram(
    out: &mut String,
    name: &str,
    help: &str,
    labels: &[&str],
    bounds: &[f64],
    values: &BTreeMap<Key, Histogram>,
) {
    header(out, name, help, "histogram");
    for (key, h) in values {
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .copied()
            .zip(key.iter().map(String::as_str))
            .collect();
        let mut cumulative = 0;
        for (i, bound) in bounds.iter().enumerate() {
            cumulative += h.buckets.get(i).copied().unwrap_or(0);
            let le = number(*bound);
            let set = label_set(pairs.iter().copied().chain([("le", le.as_str())]));
            let _ = writeln!(out, "{name}_bucket{set} {cumulative}");
        }
        let set = label_set(pairs.iter().copied().chain([("le", "+Inf")]));
        let _ = writeln!(out, "{name}_bucket{set} {}", h.count);
        let set = label_set(pairs.iter().copied());
        let _ = writeln!(out, "{name}_sum{set} {}", number(h.sum));
        let _ = writeln!(out, "{name}_count{set} {}", h.count);
    }
}

fn write_gauge(out: &mut String, name: &str, help: &str, samples: &[(Vec<(&str, String)>, f64)]) {
    header(out, name, help, "gauge");
    for (labels, value) in samples {
        let set = label_set(labels.iter().map(|(k, v)| (*k, v.as_str())));
        let _ = writeln!(out, "{name}{set} {}", number(*value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("line\nbreak"), "line\\nbreak");
        let mut out = String::new();
        let values = BTreeMap::from([(vec!["x\"y\\z\n".to_owned()], 3)]);
        write_counter(
            &mut out,
            "t_total",
            "Help with \\ and\nnewline.",
            &["l"],
            &values,
        );
        assert_eq!(
            out,
            "# HELP t_total Help with \\\\ and\\nnewline.\n# TYPE t_total counter\nt_total{l=\"x\\\"y\\\\z\\n\"} 3\n"
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative_with_inf_sum_and_count() {
        let bounds = [0.25, 1.0, 10.0];
        let mut h = Histogram::default();
        for v in [0.125, 0.25, 0.5, 2.0, 50.0] {
            h.observe(&bounds, v);
        }
        let values = BTreeMap::from([(vec!["GET".to_owned()], h)]);
        let mut out = String::new();
        write_histogram(&mut out, "d_seconds", "D.", &["method"], &bounds, &values);
        let expected = "\
# HELP d_seconds D.
# TYPE d_seconds histogram
d_seconds_bucket{method=\"GET\",le=\"0.25\"} 2
d_seconds_bucket{method=\"GET\",le=\"1\"} 3
d_seconds_bucket{method=\"GET\",le=\"10\"} 4
d_seconds_bucket{method=\"GET\",le=\"+Inf\"} 5
d_seconds_sum{method=\"GET\"} 52.875
d_seconds_count{method=\"GET\"} 5
";
        assert_eq!(out, expected);
    }

    #[test]
    fn special_numbers_use_prometheus_spelling() {
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(3.0), "3");
    }

    #[test]
    fn every_family_is_rendered_even_without_samples() {
        let text = Metrics::new().render(&Snapshot::default());
        for name in [
            "zondarr_build_info",
            "zondarr_http_requests_total",
            "zondarr_http_request_duration_seconds",
            "zondarr_plugin_calls_total",
            "zondarr_plugin_call_duration_seconds",
            "zondarr_plugins_loaded",
            "zondarr_redemptions_total",
            "zondarr_job_runs_total",
            "zondarr_job_run_duration_seconds",
            "zondarr_db_pool_connections",
        ] {
            assert_eq!(
                lines_of(&text, &format!("# TYPE {name} ")).len(),
                1,
                "{name}"
            );
            assert_eq!(
                lines_of(&text, &format!("# HELP {name} ")).len(),
                1,
                "{name}"
            );
        }
        assert!(text.contains(&format!(
            "zondarr_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(text.contains("zondarr_plugins_loaded 0\n"));
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn recorded_samples_appear_with_their_labels() {
        let m = Metrics::new();
        m.http_request("GET", "/api/v1/users/{id}", 200, Duration::from_millis(3));
        m.http_request("GET", "/api/v1/users/{id}", 200, Duration::from_millis(30));
        m.http_request("BREW", "unmatched", 404, Duration::from_millis(1));
        m.plugin_call("jellyfin", "create-user", "ok", Duration::from_millis(120));
        m.redemption("completed");
        m.job_run("sync", "success", Duration::from_secs(2));
        let text = m.render(&Snapshot {
            pools: vec![PoolState {
                pool: "read",
                idle: 3,
                in_use: 1,
            }],
            plugins_loaded: 2,
        });
        for line in [
            "zondarr_http_requests_total{method=\"GET\",route=\"/api/v1/users/{id}\",status=\"200\"} 2",
            "zondarr_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 1",
            "zondarr_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/users/{id}\",le=\"0.005\"} 1",
            "zondarr_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/users/{id}\"} 2",
            "zondarr_plugin_calls_total{plugin=\"jellyfin\",operation=\"create-user\",outcome=\"ok\"} 1",
            "zondarr_plugin_call_duration_seconds_bucket{plugin=\"jellyfin\",operation=\"create-user\",le=\"0.1\"} 0",
            "zondarr_plugin_call_duration_seconds_bucket{plugin=\"jellyfin\",operation=\"create-user\",le=\"0.25\"} 1",
            "zondarr_redemptions_total{outcome=\"completed\"} 1",
            "zondarr_job_runs_total{job=\"sync\",outcome=\"success\"} 1",
            "zondarr_job_run_duration_seconds_sum{job=\"sync\"} 2",
            "zondarr_plugins_loaded 2",
            "zondarr_db_pool_connections{pool=\"read\",state=\"idle\"} 3",
            "zondarr_db_pool_connections{pool=\"read\",state=\"in_use\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
    }
}

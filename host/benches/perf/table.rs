//! The bench's one table, and the regression check against `perf-recorded.txt`.

use std::time::Duration;

/// The value at quantile `p` (0.0–1.0) of sorted samples.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// Samples sorted, as `(p50, p99)`.
pub fn p50_p99(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (pct(&samples, 0.5), pct(&samples, 0.99))
}

pub struct Row {
    pub figure: String,
    pub measured: String,
    pub goal: String,
    /// `None` when the row has no goal (a baseline or a figure for information).
    pub met: Option<bool>,
}

/// Every section adds its rows here; `main` prints them as one table.
#[derive(Default)]
pub struct Table {
    pub rows: Vec<Row>,
    /// Cost relative to an in-run baseline, higher is worse (for example a figure's p50 over
    /// the baseline's p50, or the baseline's throughput over the figure's). The regression check
    /// compares these, never absolute times, since CI machines are noisy.
    pub ratios: Vec<(String, f64)>,
}

impl Table {
    /// A row for information (a baseline, or a figure without a goal).
    pub fn info(&mut self, figure: impl Into<String>, measured: impl Into<String>) {
        self.rows.push(Row {
            figure: figure.into(),
            measured: measured.into(),
            goal: String::new(),
            met: None,
        });
    }

    /// A row with its goal and whether this run met it.
    pub fn goal(
        &mut self,
        figure: impl Into<String>,
        measured: impl Into<String>,
        goal: impl Into<String>,
        met: bool,
    ) {
        self.rows.push(Row {
            figure: figure.into(),
            measured: measured.into(),
            goal: goal.into(),
            met: Some(met),
        });
    }

    /// A cost ratio for the regression check (see [`Table::ratios`]).
    pub fn ratio(&mut self, label: impl Into<String>, ratio: f64) {
        self.ratios.push((label.into(), ratio));
    }

    pub fn print(&self) {
        let w = |f: fn(&Row) -> &str, title: &str| {
            self.rows
                .iter()
                .map(|r| f(r).chars().count())
                .max()
                .unwrap_or(0)
                .max(title.len())
        };
        let (a, b, c) = (
            w(|r| &r.figure, "Figure"),
            w(|r| &r.measured, "Measured"),
            w(|r| &r.goal, "Goal"),
        );
        println!(
            "| {:a$} | {:b$} | {:c$} | Met |",
            "Figure", "Measured", "Goal"
        );
        println!(
            "|{}|{}|{}|-----|",
            "-".repeat(a + 2),
            "-".repeat(b + 2),
            "-".repeat(c + 2)
        );
        for r in &self.rows {
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            };
            println!(
                "| {:a$} | {:b$} | {:c$} | {met:3} |",
                r.figure, r.measured, r.goal
            );
        }
        println!();
        for (label, r) in &self.ratios {
            println!("ratio to baseline  {r:>10.2}  {label}");
        }
    }

    /// `--record`: writes the ratios to `path`.
    pub fn record(&self, path: &std::path::Path) {
        let text: String = self
            .ratios
            .iter()
            .map(|(l, r)| format!("{r:.2}\t{l}\n"))
            .collect();
        std::fs::write(path, text).expect("write the recorded ratios");
        println!("recorded {}", path.display());
    }

    /// The figures whose ratio is more than 2x the recorded one: (label, now, recorded), and how
    /// many recorded figures this run has.
    pub fn regressions(&self, path: &std::path::Path) -> (usize, Vec<(String, f64, f64)>) {
        let recorded = std::fs::read_to_string(path).expect("read the recorded ratios");
        let mut worse = Vec::new();
        let mut checked = 0;
        for line in recorded.lines() {
            let (r, label) = line.split_once('\t').expect("ratio<TAB>label");
            let r: f64 = r.parse().expect("a number");
            if let Some((_, now)) = self.ratios.iter().find(|(l, _)| l == label) {
                checked += 1;
                if *now > 2.0 * r {
                    worse.push((label.to_owned(), *now, r));
                }
            }
        }
        assert!(checked > 0, "no recorded figure matched this run");
        (checked, worse)
    }

    /// `--check`: false when a ratio is more than 2x the recorded one.
    pub fn check(&self, path: &std::path::Path) -> bool {
        let (checked, worse) = self.regressions(path);
        for (label, now, r) in &worse {
            println!("REGRESSION: {label}: ratio {now:.2}, recorded {r:.2} (more than 2x)");
        }
        if worse.is_empty() {
            println!("check: {checked} figures within 2x of the recorded ratios");
        }
        worse.is_empty()
    }

    /// Keeps, for each figure measured again in `again`, the lower of its two ratios.
    pub fn keep_better(&mut self, again: &Table) {
        for (label, ratio) in &mut self.ratios {
            if let Some((_, r)) = again.ratios.iter().find(|(l, _)| l == label) {
                *ratio = ratio.min(*r);
            }
        }
    }
}

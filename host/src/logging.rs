//! Logging setup: `tracing` with human-readable output by default and one JSON object per line
//! with `--log-format json`. The filter comes from `log.level` / `ZONDARR_LOG`.

use tracing_subscriber::EnvFilter;

/// Install the global subscriber. Logs go to stderr; stdout is kept for command output.
pub fn init(filter: &str, json: bool) {
    let filter = EnvFilter::builder().parse_lossy(filter);
    // Colours only on a terminal: log files and journald get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.with_target(true).try_init()
    };
}

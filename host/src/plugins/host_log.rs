//! The free functions of the `host` interface (`log`, `install-id`) and the capture of the
//! guest's stderr, where Rust panic messages land.
//!
//! Everything a plugin writes ends up in `tracing` under the target `zondarr::plugin`, tagged
//! with the plugin id, and is bounded per call so a chatty or hostile plugin cannot flood the log.

use super::bindings::host::{self, Level};
use super::call::CallState;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Log lines one call may write.
pub(crate) const MAX_LOG_LINES: u32 = 1000;
/// Longest log line kept (longer ones are cut).
const MAX_LINE_BYTES: usize = 4096;
/// Stderr bytes kept per call.
pub(crate) const MAX_STDERR_BYTES: usize = 16 * 1024;

/// Cut `s` to at most `max` bytes on a character boundary.
pub(crate) fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` with every control character (newline, carriage return, escape, ...) written as its
/// Rust escape (`\n`, `\u{1b}`), so text from a plugin cannot start a forged log line, move the
/// cursor or recolour a terminal.
pub(crate) fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The `types` interface has no functions; the linker still needs its (empty) instance.
impl super::bindings::wit::Host for CallState {}

impl host::Host for CallState {
    async fn install_id(&mut self) -> wasmtime::Result<String> {
        Ok(self.io.install_id.to_string())
    }

    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let plugin = &*self.io.plugin_id;
        self.io.log_lines += 1;
        if self.io.log_lines > MAX_LOG_LINES {
            if self.io.log_lines == MAX_LOG_LINES + 1 {
                tracing::warn!(target: "zondarr::plugin", plugin, "log limit of this call reached; further lines are dropped");
            }
            return Ok(());
        }
        let message = escape(clip(&message, MAX_LINE_BYTES));
        match level {
            Level::Trace => tracing::trace!(target: "zondarr::plugin", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "zondarr::plugin", plugin, "{message}"),
            Level::Info => tracing::info!(target: "zondarr::plugin", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "zondarr::plugin", plugin, "{message}"),
            Level::Error => tracing::error!(target: "zondarr::plugin", plugin, "{message}"),
        }
        Ok(())
    }
}

/// The guest's stderr: a bounded in-memory buffer; bytes past the cap are dropped silently
/// (never a trap, never back-pressure on the guest).
#[derive(Clone, Default)]
pub(crate) struct StderrCapture {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl StderrCapture {
    /// The captured text, lossily decoded.
    pub(crate) fn text(&self) -> String {
        let buf = self.buf.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&buf).into_owned()
    }
}

impl IsTerminal for StderrCapture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrCapture {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for StderrCapture {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Ok(mut buf) = self.buf.lock() {
            let room = MAX_STDERR_BYTES.saturating_sub(buf.len());
            buf.extend_from_slice(&data[..data.len().min(room)]);
        }
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The panic message in a Rust guest's stderr (`thread '…' panicked at file:line:col:\nmsg`),
/// without the location and the backtrace note.
pub(crate) fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.find("panicked at ")?;
    let after = &stderr[start..];
    let body = after.split_once('\n').map_or("", |(_, rest)| rest);
    let body = body.split("\nnote: ").next().unwrap_or(body).trim();
    if body.is_empty() {
        // Older format: `panicked at 'msg', file:line:col`.
        let line = after.lines().next().unwrap_or(after);
        return Some(escape(line.trim_start_matches("panicked at ")).into_owned());
    }
    Some(escape(clip(body, MAX_LINE_BYTES)).into_owned())
}

/// Write the captured stderr to the log, one event per line.
pub(crate) fn log_stderr(plugin: &str, text: &str) {
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        tracing::warn!(target: "zondarr::plugin", plugin, stream = "stderr", "{}", escape(clip(line, MAX_LINE_BYTES)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_the_panic_message() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:12:9:\nfixture panic: boom\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("fixture panic: boom")
        );
        assert_eq!(panic_message("nothing here"), None);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("plain text"), "plain text");
        assert_eq!(
            escape("a\nINFO forged\u{1b}[2K\r"),
            "a\\nINFO forged\\u{1b}[2K\\r"
        );
    }

    #[test]
    fn clip_respects_char_boundaries() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("abc", 10), "abc");
    }
}

//! Logging through the daemon: every line lands in the daemon's log tagged with the plugin id.
//! Natively (unit tests of a connector) lines go to stderr instead, so tests never need a host.

/// Log level of [`log`].
pub use crate::__private::bindings::zondarr::connector::host::Level;

impl Level {
    /// The level name in lower case, e.g. `"warn"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// Writes one line to the daemon's log. Never log secrets (tokens, passwords): the log is meant
/// to be shared when asking for help. The [`info!`](crate::info) family of macros formats for you.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::__private::bindings::zondarr::connector::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{}] {message}", level.as_str());
}

/// Logs a `format!`-style line at trace level.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => {
        $crate::log($crate::Level::Trace, &::std::format!($($arg)+))
    };
}

/// Logs a `format!`-style line at debug level.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => {
        $crate::log($crate::Level::Debug, &::std::format!($($arg)+))
    };
}

/// Logs a `format!`-style line at info level: `zondarr_plugin_sdk::info!("{n} users")`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => {
        $crate::log($crate::Level::Info, &::std::format!($($arg)+))
    };
}

/// Logs a `format!`-style line at warn level.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => {
        $crate::log($crate::Level::Warn, &::std::format!($($arg)+))
    };
}

/// Logs a `format!`-style line at error level.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => {
        $crate::log($crate::Level::Error, &::std::format!($($arg)+))
    };
}

#[cfg(test)]
mod tests {
    use super::Level;

    #[test]
    fn macros_format_and_do_not_need_a_host() {
        let n = 3;
        crate::trace!("trace {n}");
        crate::debug!("debug {}", n);
        crate::info!("info");
        crate::warn!("warn {n:>4}");
        crate::error!("error {:?}", Some(n));
        assert_eq!(Level::Warn.as_str(), "warn");
    }
}

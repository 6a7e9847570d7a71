//! The one integration-test binary (STYLE.md rule 19): the real `zondarr` binary and library,
//! real SQLite files, real plugins built from `plugins/`, real HTTP over loopback.

mod daemon;
mod support;

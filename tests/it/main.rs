//! The one integration-test binary (STYLE.md rule 19): the real `zondarr` binary and library,
//! real SQLite files, real plugins built from `plugins/`, real HTTP over loopback.

// Test code: a failed unwrap is a test failure with its location, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod account;
mod admin_pages;
mod api_truth;
mod audiobookshelf;
mod browser;
mod crowd;
mod daemon;
mod domain;
mod emby;
mod jellyfin;
mod kavita;
mod komga;
mod media;
mod navidrome;
mod openapi;
mod operations;
mod ops;
mod plex;
mod plugins;
mod redemption;
mod sdk;
mod security;
mod servers_tls;
mod support;
mod users_pages;
mod wizards;

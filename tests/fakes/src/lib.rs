//! Stateful fakes of the proprietary servers Zondarr talks to, for tests: each runs an in-process
//! axum server on `127.0.0.1:0`, keeps state, records every request, and behaves as
//! `MEDIA-APIS.md` documents the real server (status codes, id formats, XML vs JSON, headers).

pub mod audiobookshelf;
pub mod emby;
pub mod jellyfin;
pub mod kavita;
pub mod komga;
pub mod navidrome;
pub mod openapi;
pub mod plex;
pub mod policy;
pub mod server;
pub mod tls;

//! The pages' static files, embedded in the binary and served under content-hashed names
//! (`/assets/app.3f9a1c2e4b5d6f70.css`) with a year of immutable caching: a new release changes
//! the hash, so browsers never run a stale script against a new page.
//!
//! Only the project's own files are here (STYLE.md rule 14). The accent colour is a setting, and
//! the Content-Security-Policy forbids inline styles, so it is served as a tiny stylesheet of
//! its own whose name carries the colour ([`theme_css`]).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The hashed file name, e.g. `app.3f9a1c2e4b5d6f70.css`.
    pub name: String,
    /// `/assets/` + name.
    pub url: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

fn asset(stem: &str, ext: &str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
    let digest = Sha256::digest(bytes);
    let name = format!("{stem}.{}.{ext}", hex::encode(&digest[..8]));
    Asset {
        url: format!("/assets/{name}"),
        name,
        content_type,
        bytes,
    }
}

/// Every embedded file.
#[derive(Debug)]
pub struct Assets {
    /// The stylesheet.
    pub css: Asset,
    /// The enhancement script.
    pub js: Asset,
    /// The admin pages' enhancement script.
    pub admin_js: Asset,
}

impl Assets {
    /// Hash the embedded files (once, when the router is built).
    pub fn load() -> Assets {
        Assets {
            css: asset(
                "app",
                "css",
                "text/css; charset=utf-8",
                include_bytes!("static/app.css"),
            ),
            js: asset(
                "join",
                "js",
                "text/javascript; charset=utf-8",
                include_bytes!("static/join.js"),
            ),
            admin_js: asset(
                "admin",
                "js",
                "text/javascript; charset=utf-8",
                include_bytes!("static/admin.js"),
            ),
        }
    }

    fn find(&self, name: &str) -> Option<&Asset> {
        [&self.css, &self.js, &self.admin_js]
            .into_iter()
            .find(|a| a.name == name)
    }
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `GET /assets/{name}`: an embedded file by its hashed name.
pub async fn serve(
    axum::Extension(web): axum::Extension<std::sync::Arc<super::Web>>,
    Path(name): Path<String>,
) -> Response {
    match web.assets.find(&name) {
        Some(a) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
            ],
            a.bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The accent colour `#rrggbb` as its parts, or `None` when it is not one.
fn rgb(color: &str) -> Option<[u8; 3]> {
    let hex = color.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// WCAG relative luminance.
fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

fn contrast(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    (hi + 0.05) / (lo + 0.05)
}

/// The stylesheet for an accent colour: the colour for buttons with whichever of black or white
/// text contrasts more with it, so any colour an admin picks keeps button text readable.
/// Links keep the built-in colours (which meet AA on both themes) unless the accent itself
/// reaches 4.5:1 against the page background.
pub fn theme_css(color: &str) -> Option<String> {
    let parts = rgb(color)?;
    let l = luminance(parts);
    let on = if contrast(l, 0.0) >= contrast(l, 1.0) {
        "#000000"
    } else {
        "#ffffff"
    };
    let mut css = format!(":root{{--accent:{color};--on-accent:{on};}}\n");
    if contrast(l, 1.0) >= 4.5 {
        css.push_str(&format!(
            "@media (prefers-color-scheme: light){{:root{{--link:{color};}}}}\n"
        ));
    }
    if contrast(l, luminance([0x12, 0x14, 0x18])) >= 4.5 {
        css.push_str(&format!(
            "@media (prefers-color-scheme: dark){{:root{{--link:{color};}}}}\n"
        ));
    }
    Some(css)
}

/// `GET /theme/{color}.css` (`color` without `#`): the accent stylesheet. The name carries the
/// colour, so it can be cached for good too.
pub async fn theme(Path(file): Path<String>) -> Response {
    let css = file
        .strip_suffix(".css")
        .and_then(|hex| theme_css(&format!("#{hex}")));
    match css {
        Some(css) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/css; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
            ],
            css,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_carry_their_content_hash() {
        let a = Assets::load();
        assert!(a.css.name.starts_with("app.") && a.css.name.ends_with(".css"));
        assert_eq!(a.css.name.len(), "app..css".len() + 16);
        assert_ne!(a.css.name, a.js.name);
        assert!(a.find(&a.js.name).is_some());
        assert!(a.find("join.js").is_none(), "only hashed names are served");
    }

    #[test]
    fn accent_text_colour_keeps_contrast() {
        let dark = theme_css("#1a237e").unwrap();
        assert!(dark.contains("--on-accent:#ffffff"), "{dark}");
        let light = theme_css("#ffeb3b").unwrap();
        assert!(light.contains("--on-accent:#000000"), "{light}");
        assert!(
            !light.contains("prefers-color-scheme: light"),
            "yellow links on white would fail AA: {light}"
        );
        assert!(theme_css("#12345").is_none());
        assert!(theme_css("red").is_none());
        assert!(theme_css("#gg0000").is_none());
    }
}

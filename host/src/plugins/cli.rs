//! `zondarr plugin check FILE.wasm` and `zondarr plugin new NAME`, as plain functions the CLI
//! calls. They print for plugin authors, so unlike API errors their messages may name paths.

use super::{Inspection, MAX_COMPONENT_BYTES, PluginHost};
use crate::config::Config;
use anyhow::{Context, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Run the daemon's load pipeline on `path` (same engine settings and limits, no cache, no
/// network) and describe the result: manifest, contract version, imports and exports. A file
/// the daemon would refuse is an error whose message is the exact reason.
pub async fn check(path: &Path, cfg: &Config) -> anyhow::Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        bail!("{} is a directory; give the .wasm file", path.display());
    }
    if meta.len() > MAX_COMPONENT_BYTES as u64 {
        bail!(
            "{} would be refused: it is {} bytes; plugins may be at most {} MiB",
            path.display(),
            meta.len(),
            MAX_COMPONENT_BYTES / (1024 * 1024)
        );
    }
    let bytes = match super::registry::read_plugin_file_blocking(path) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => bail!("cannot read {}: not found", path.display()),
        Err(reason) => bail!("{} would be refused: {reason}", path.display()),
    };
    let host = PluginHost::standalone(&cfg.plugins, None)?;
    let result = host.inspect(&bytes).await;
    host.shutdown().await;
    match result {
        Ok(inspection) => Ok(report(path, &inspection)),
        Err(e) => bail!("{} would be refused: {}", path.display(), e.message),
    }
}

/// The files in the plugins folder that provide plugin `id`, run through the real load pipeline:
/// what `zondarr plugin approve ID` approves. Each is (file name, version, sha256).
pub async fn folder_versions_of(
    id: &str,
    cfg: &Config,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let dir = &cfg.plugins.dir;
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the plugins folder {}", dir.display()))?;
    let host = PluginHost::standalone(&cfg.plugins, None)?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = super::registry::plugin_file_name(&path) else {
            continue;
        };
        let Ok(Some(bytes)) = super::registry::read_plugin_file_blocking(&path) else {
            continue;
        };
        if let Ok(i) = host.inspect(&bytes).await
            && i.manifest.id == id
        {
            found.push((name, i.manifest.version.clone(), i.sha256.clone()));
        }
    }
    host.shutdown().await;
    found.sort();
    Ok(found)
}

fn report(path: &Path, i: &Inspection) -> String {
    let m = &i.manifest;
    // Everything below but the numbers comes from the plugin: control characters are escaped
    // so a hostile manifest cannot forge lines of this report or drive the terminal.
    let e = |s: &str| super::host_log::escape(s).into_owned();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: OK, the daemon would load this plugin",
        path.display()
    );
    let _ = writeln!(out, "  file:         {} bytes, sha256 {}", i.size, i.sha256);
    let _ = writeln!(
        out,
        "  contract:     zondarr:connector@{}",
        i.contract_version
    );
    let _ = writeln!(out, "  interfaces:   {}", i.interfaces.join(", "));
    let _ = writeln!(out, "  id:           {}", m.id);
    let _ = writeln!(out, "  name:         {}", e(&m.name));
    let _ = writeln!(out, "  version:      {}", e(&m.version));
    let _ = writeln!(out, "  description:  {}", e(&m.description));
    let caps: Vec<&str> = m.capabilities.iter().map(|c| c.as_str()).collect();
    let _ = writeln!(
        out,
        "  capabilities: {}",
        if caps.is_empty() {
            "(none)".to_owned()
        } else {
            caps.join(", ")
        }
    );
    let _ = writeln!(out, "  join flow:    {}", plain(&m.join_flow));
    let auth = match &m.auth {
        super::AuthScheme::None => "none".to_owned(),
        super::AuthScheme::Header {
            name,
            value_template,
        } => e(&format!("header {name}: {value_template}")),
        super::AuthScheme::Query { param, field } => e(&format!("query ?{param}={{{field}}}")),
        super::AuthScheme::Session {
            login_path,
            body_fields,
            token_pointer,
            header,
            value_template,
        } => {
            let fields: Vec<String> = body_fields
                .iter()
                .map(|(member, key)| format!("{member}={{{key}}}"))
                .collect();
            e(&format!(
                "session: POST {login_path} ({}), token at {token_pointer}, header {header}: {value_template}",
                fields.join(", ")
            ))
        }
    };
    let _ = writeln!(out, "  auth:         {auth}");
    let help = &m.join_help;
    for (label, value) in [
        ("apps:        ", help.apps_url.as_deref()),
        ("web sign-in: ", help.web_url.as_deref()),
        ("address field:", help.address_field.as_deref()),
    ] {
        if let Some(value) = value {
            let _ = writeln!(out, "  {label}{}", e(value));
        }
    }
    let _ = writeln!(
        out,
        "  config fields:{}",
        none_if_empty(m.config.is_empty())
    );
    for f in &m.config {
        let req = if f.required { ", required" } else { "" };
        let default = f
            .default_value
            .as_ref()
            .map(|v| format!(", default {}", plain(v)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    - {} ({}{req}{default}): {}",
            f.key,
            plain(&f.kind),
            e(&f.label)
        );
        if let Some(help) = &f.help {
            let _ = writeln!(out, "        {}", e(help));
        }
    }
    let _ = writeln!(
        out,
        "  permissions:{}",
        none_if_empty(m.permissions.is_empty())
    );
    for p in &m.permissions {
        let _ = writeln!(
            out,
            "    - {} ({}, default {}): {}",
            p.key,
            plain(&p.kind),
            e(&plain(&p.default_value)),
            e(&p.label)
        );
        if let Some(description) = &p.description {
            let _ = writeln!(out, "        {}", e(description));
        }
    }
    let _ = writeln!(
        out,
        "  extra hosts:{}",
        none_if_empty(m.extra_hosts.is_empty())
    );
    for h in &m.extra_hosts {
        let creds = if h.send_credentials {
            "with credentials"
        } else {
            "no credentials"
        };
        let _ = writeln!(
            out,
            "    - {} {} ({creds}): {}",
            h.id,
            e(&h.origin),
            e(&h.purpose)
        );
    }
    let _ = writeln!(out, "  imports:");
    for name in &i.imports {
        let _ = writeln!(out, "    - {}", e(name));
    }
    let _ = writeln!(out, "  exports:");
    for name in &i.exports {
        let _ = writeln!(out, "    - {}", e(name));
    }
    let _ = writeln!(
        out,
        "  load time:    compile {} ms, link {} ms, describe {} ms",
        i.timings.compile.as_millis(),
        i.timings.link.as_millis(),
        i.timings.describe.as_millis()
    );
    out
}

/// A manifest value as the API shows it (its JSON form, strings unquoted): `credentials`,
/// `flag`, `true`, `3`, `PG-13`, never a Rust debug form such as `Flag(true)`.
fn plain<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => "?".to_owned(),
    }
}

fn none_if_empty(empty: bool) -> &'static str {
    if empty { " (none)" } else { "" }
}

/// The connector crate template shipped with the SDK: (path in the new crate, contents).
const TEMPLATE: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../../plugin-sdk/template/Cargo.toml.tmpl"),
    ),
    (
        "README.md",
        include_str!("../../../plugin-sdk/template/README.md.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../plugin-sdk/template/src/lib.rs.tmpl"),
    ),
];

/// Where `plugin new` puts the SDK inside the new crate.
pub const VENDORED_SDK: &str = "vendor/zondarr-plugin-sdk";

/// The SDK crate itself, as `cargo package` would ship it (its `include` list): written into
/// every new connector under [`VENDORED_SDK`], so a release binary is all an author needs. A
/// test compares this list with `cargo package --list`.
pub const SDK_FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../../plugin-sdk/Cargo.toml")),
    ("README.md", include_str!("../../../plugin-sdk/README.md")),
    (
        "TUTORIAL.md",
        include_str!("../../../plugin-sdk/TUTORIAL.md"),
    ),
    (
        "src/connector.rs",
        include_str!("../../../plugin-sdk/src/connector.rs"),
    ),
    (
        "src/error.rs",
        include_str!("../../../plugin-sdk/src/error.rs"),
    ),
    (
        "src/http.rs",
        include_str!("../../../plugin-sdk/src/http.rs"),
    ),
    ("src/lib.rs", include_str!("../../../plugin-sdk/src/lib.rs")),
    (
        "src/logging.rs",
        include_str!("../../../plugin-sdk/src/logging.rs"),
    ),
    (
        "src/rest.rs",
        include_str!("../../../plugin-sdk/src/rest.rs"),
    ),
    (
        "src/server.rs",
        include_str!("../../../plugin-sdk/src/server.rs"),
    ),
    (
        "src/testing.rs",
        include_str!("../../../plugin-sdk/src/testing.rs"),
    ),
    (
        "src/types.rs",
        include_str!("../../../plugin-sdk/src/types.rs"),
    ),
    (
        "tutorial/bookshelf.rs",
        include_str!("../../../plugin-sdk/tutorial/bookshelf.rs"),
    ),
    (
        "wit/connector.wit",
        include_str!("../../../plugin-sdk/wit/connector.wit"),
    ),
];

/// Names that are valid plugin ids but not usable as crate names.
const RESERVED: &[&str] = &[
    "test",
    "self",
    "super",
    "crate",
    "std",
    "core",
    "alloc",
    "proc-macro",
];

/// Write a ready-to-build connector crate named `name` into `dest/<name>` and return that path.
///
/// `name` becomes the package name and the plugin id, so it must be a valid id: a lowercase
/// letter, then up to 31 of `a-z`, `0-9`, `-`. The crate depends on a copy of the SDK this binary
/// carries ([`SDK_FILES`]), written into [`VENDORED_SDK`] inside the crate, so it builds without
/// a Zondarr checkout and without the SDK on a registry. The directory must not exist yet (or be
/// empty).
pub fn new_plugin(name: &str, dest: &Path) -> anyhow::Result<PathBuf> {
    let valid = name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        bail!(
            "`{name}` is not a valid plugin name: use a lowercase letter, then up to 31 of a-z, 0-9 and `-`"
        );
    }
    if RESERVED.contains(&name) {
        bail!("`{name}` cannot be used as a crate name; choose another");
    }
    let root = dest.join(name);
    if root.exists()
        && std::fs::read_dir(&root)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!("{} already exists and is not empty", root.display());
    }

    let sdk_dependency = format!("{{ path = \"{VENDORED_SDK}\" }}");
    let crate_name = name.replace('-', "_");
    for (rel, template) in TEMPLATE {
        let text = template
            .replace("{{name}}", name)
            .replace("{{crate_name}}", &crate_name)
            .replace("{{sdk_dependency}}", &sdk_dependency);
        write_file(&root.join(rel), &text)?;
    }
    for (rel, text) in SDK_FILES {
        write_file(&root.join(VENDORED_SDK).join(rel), text)?;
    }
    std::fs::write(root.join(".gitignore"), "/target\n")
        .with_context(|| format!("cannot write {}", root.join(".gitignore").display()))?;
    Ok(root)
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

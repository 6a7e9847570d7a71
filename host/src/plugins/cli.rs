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
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
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
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let host = PluginHost::standalone(&cfg.plugins, None)?;
    let result = host.inspect(&bytes).await;
    host.shutdown().await;
    match result {
        Ok(inspection) => Ok(report(path, &inspection)),
        Err(e) => bail!("{} would be refused: {}", path.display(), e.message),
    }
}

fn report(path: &Path, i: &Inspection) -> String {
    let m = &i.manifest;
    let mut out = String::new();
    let _ = writeln!(out, "{}: OK, the daemon would load this plugin", path.display());
    let _ = writeln!(out, "  file:         {} bytes, sha256 {}", i.size, i.sha256);
    let _ = writeln!(out, "  contract:     zondarr:connector@{}", i.contract_version);
    let _ = writeln!(out, "  interfaces:   {}", i.interfaces.join(", "));
    let _ = writeln!(out, "  id:           {}", m.id);
    let _ = writeln!(out, "  name:         {}", m.name);
    let _ = writeln!(out, "  version:      {}", m.version);
    let _ = writeln!(out, "  description:  {}", m.description);
    let caps: Vec<&str> = m.capabilities.iter().map(|c| c.as_str()).collect();
    let _ = writeln!(out, "  capabilities: {}", if caps.is_empty() { "(none)".to_owned() } else { caps.join(", ") });
    let _ = writeln!(out, "  join flow:    {:?}", m.join_flow);
    let auth = match &m.auth {
        super::AuthScheme::None => "none".to_owned(),
        super::AuthScheme::Header { name, value_template } => format!("header {name}: {value_template}"),
        super::AuthScheme::Query { param, field } => format!("query ?{param}={{{field}}}"),
    };
    let _ = writeln!(out, "  auth:         {auth}");
    let _ = writeln!(out, "  config fields:");
    for f in &m.config {
        let req = if f.required { ", required" } else { "" };
        let _ = writeln!(out, "    - {} ({:?}{req}): {}", f.key, f.kind, f.label);
    }
    let _ = writeln!(out, "  permissions:");
    for p in &m.permissions {
        let _ = writeln!(out, "    - {} ({:?}, default {:?}): {}", p.key, p.kind, p.default_value, p.label);
    }
    let _ = writeln!(out, "  extra hosts:");
    for h in &m.extra_hosts {
        let creds = if h.send_credentials { "with credentials" } else { "no credentials" };
        let _ = writeln!(out, "    - {} {} ({creds}): {}", h.id, h.origin, h.purpose);
    }
    let _ = writeln!(out, "  imports:");
    for name in &i.imports {
        let _ = writeln!(out, "    - {name}");
    }
    let _ = writeln!(out, "  exports:");
    for name in &i.exports {
        let _ = writeln!(out, "    - {name}");
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

/// Placeholder until the SDK templates exist.
pub fn new_plugin(name: &str, dest: &Path) -> anyhow::Result<PathBuf> {
    bail!("not yet: {name} {}", dest.display())
}

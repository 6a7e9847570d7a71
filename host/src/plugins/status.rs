//! What the host shows about its plugins: the API views of loaded plugins and refused files,
//! and what `inspect` (`zondarr plugin check`) learned about a component. Plain data; nothing
//! here touches wasmtime.

use super::load::{CodeFrom, LoadTimings, LoadedPlugin, Source};
use super::registry::{self, FileError, PendingApproval};
use super::types::{
    AuthScheme, Brand, Capability, ConfigField, ExtraHost, JoinFlow, JoinHelp, Manifest,
    PermissionDef,
};
use chrono::SecondsFormat;
use serde::Serialize;
use std::sync::atomic::Ordering;

/// What `inspect` learned about a component.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The validated manifest.
    pub manifest: Manifest,
    /// Contract version from the export name.
    pub contract_version: String,
    /// Exported interfaces (`connector`, `oauth`, `auth`).
    pub interfaces: Vec<&'static str>,
    /// Import names.
    pub imports: Vec<String>,
    /// Export names.
    pub exports: Vec<String>,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    /// Size in bytes.
    pub size: usize,
    /// Whether the compiled code came from the cache.
    #[serde(skip)]
    pub from_cache: bool,
    /// Whether the compiled code was built into the daemon (a bundled plugin, precompiled at
    /// build time for this machine).
    #[serde(skip)]
    pub precompiled: bool,
    /// Step timings.
    #[serde(skip)]
    pub timings: LoadTimings,
}

impl Inspection {
    pub(crate) fn of(p: &LoadedPlugin) -> Self {
        Self {
            manifest: (*p.manifest).clone(),
            contract_version: p.contract.to_string(),
            interfaces: p.interfaces(),
            imports: p.imports.clone(),
            exports: p.export_names.clone(),
            sha256: p.sha256.clone(),
            size: p.size,
            from_cache: p.code_from == CodeFrom::Cache,
            precompiled: p.code_from == CodeFrom::Build,
            timings: p.timings,
        }
    }
}

/// Where a plugin version came from, as shown by the API.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceView {
    /// Embedded in the daemon.
    Bundled {
        /// The plugin's directory name in the repository.
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// A file in the plugins folder.
    Folder {
        /// File name.
        file: String,
    },
}

/// State of a plugin in the API.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PluginState {
    /// Serving calls.
    Loaded,
    /// Crashed too often in a row; refused for a while (longer each time) or until reloaded.
    Unhealthy,
    /// The file was refused and nothing serves it.
    Failed,
}

/// A load error as shown by the API.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct LoadErrorView {
    /// The refused file (`None` for a bundled plugin).
    pub file: Option<String>,
    /// Why.
    pub message: String,
    /// When, RFC 3339.
    pub at: String,
}

/// One plugin (or refused file) in `GET /api/v1/plugins`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PluginStatus {
    /// Plugin id; `None` for a refused file that did not get far enough to tell.
    pub id: Option<String>,
    /// Human name.
    pub name: Option<String>,
    /// Plugin version.
    pub version: Option<String>,
    /// One sentence.
    pub description: Option<String>,
    /// Contract version the component was built for.
    pub contract_version: Option<String>,
    /// Where it came from.
    pub source: SourceView,
    /// Loaded, unhealthy or failed.
    pub state: PluginState,
    /// The latest refusal of a file for this id (the older version keeps serving).
    pub error: Option<LoadErrorView>,
    /// Exported interfaces.
    pub interfaces: Vec<&'static str>,
    /// Capabilities.
    pub capabilities: Vec<Capability>,
    /// Permission keys.
    pub permissions: Vec<PermissionDef>,
    /// How invitees join.
    pub join_flow: Option<JoinFlow>,
    /// Configuration fields of a server of this kind.
    pub config_fields: Vec<ConfigField>,
    /// Credential injection (never contains a secret).
    pub auth: Option<AuthScheme>,
    /// Hosts besides the server that the plugin may reach.
    pub extra_hosts: Vec<ExtraHost>,
    /// Colours and icon.
    pub brand: Option<Brand>,
    /// Getting started, for the invitee's result page.
    pub join_help: Option<JoinHelp>,
    /// Hex SHA-256 of the component.
    pub sha256: Option<String>,
    /// When this version was loaded, RFC 3339.
    pub loaded_at: Option<String>,
    /// Calls since the daemon started (all versions of this id).
    pub calls: u64,
    /// Calls that ended in an error.
    pub errors: u64,
    /// Crashes in a row of the current version.
    pub consecutive_failures: u32,
    /// A newer file for this id that waits for an admin's approval (`POST
    /// /api/v1/plugins/{id}/approve`); the version above keeps serving meanwhile.
    pub pending_approval: Option<PendingApproval>,
}

fn error_view(e: &FileError) -> LoadErrorView {
    LoadErrorView {
        file: e.file.clone(),
        message: e.error.message.clone(),
        at: e.at.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

pub(crate) fn status_of(id: &str, slot: &registry::Slot, errors: &[FileError]) -> PluginStatus {
    let p = slot.current.load_full();
    let m = &p.manifest;
    PluginStatus {
        id: Some(id.to_owned()),
        name: Some(m.name.clone()),
        version: Some(m.version.clone()),
        description: Some(m.description.clone()),
        contract_version: Some(p.contract.to_string()),
        source: match &p.source {
            Source::Folder { file } => SourceView::Folder { file: file.clone() },
            Source::Bundled { name } => SourceView::Bundled {
                name: Some(name.clone()),
            },
            Source::Check => SourceView::Bundled { name: None },
        },
        state: if p.is_unhealthy() {
            PluginState::Unhealthy
        } else {
            PluginState::Loaded
        },
        error: errors
            .iter()
            .find(|e| e.error.id.as_deref() == Some(id))
            .map(error_view),
        interfaces: p.interfaces(),
        capabilities: m.capabilities.clone(),
        permissions: m.permissions.clone(),
        join_flow: Some(m.join_flow),
        config_fields: m.config.clone(),
        auth: Some(m.auth.clone()),
        extra_hosts: m.extra_hosts.clone(),
        brand: Some(m.brand.clone()),
        join_help: Some(m.join_help.clone()),
        sha256: Some(p.sha256.clone()),
        loaded_at: Some(p.loaded_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        calls: slot.calls.load(Ordering::Relaxed),
        errors: slot.errors.load(Ordering::Relaxed),
        consecutive_failures: p.consecutive_crashes(),
        pending_approval: errors
            .iter()
            .filter(|e| e.error.id.as_deref() == Some(id))
            .find_map(|e| e.pending.clone()),
    }
}

impl PluginStatus {
    pub(crate) fn failed(e: &FileError) -> Self {
        PluginStatus {
            id: e.error.id.clone(),
            name: None,
            version: None,
            description: None,
            contract_version: None,
            source: match &e.file {
                Some(file) => SourceView::Folder { file: file.clone() },
                None => SourceView::Bundled {
                    name: e.bundled.clone(),
                },
            },
            state: PluginState::Failed,
            error: Some(error_view(e)),
            interfaces: Vec::new(),
            capabilities: Vec::new(),
            permissions: Vec::new(),
            join_flow: None,
            config_fields: Vec::new(),
            auth: None,
            extra_hosts: Vec::new(),
            brand: None,
            join_help: None,
            sha256: None,
            loaded_at: None,
            calls: 0,
            errors: 0,
            consecutive_failures: 0,
            pending_approval: e.pending.clone(),
        }
    }
}

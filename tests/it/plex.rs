//! The bundled Plex connector (the real `plex.wasm` built from `plugins/plex`) in the real plugin
//! host, against the stateful fake PMS and plex.tv of `zondarr-fakes`: sign-in PIN, sharing with
//! exactly the chosen libraries and settings, acceptance on the invitee's behalf, updates,
//! removal, and typed errors for every kind of bad answer. Log lines are captured and checked for
//! tokens.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value as Json, json};
use zondarr::config::PluginsConfig;
use zondarr::plugins::{
    CallError, Capability, ConnectorError, DeleteOptions, JoinFlow, LibraryAccess, LinkStatus,
    LinkedAccount, NewUser, PermissionValue, PluginHost, RemoteUser, ServerContext, Value,
    ValueKind,
};
use zondarr_fakes::plex::{Account, Fault, PlexFake, Settings, Share, Side};

/// The install id the host is started with; the connector must use it as its Plex client id.
const INSTALL_ID: &str = "7d1e0c3a9b5f4e62a8c4d2b0f6e8a1c3";

/// The install id the Plex connector sees: derived from the installation's for this plugin.
fn client_id() -> String {
    zondarr::plugins::plugin_install_id(INSTALL_ID, "plex")
}

// ---------------------------------------------------------------------------------------------
// Harness

fn config(dir: &Path, http_timeout_secs: u64) -> PluginsConfig {
    PluginsConfig {
        dir: dir.join("plugins"),
        watch: false,
        memory_bytes: 64 * 1024 * 1024,
        cpu_ms: 5000,
        call_timeout_secs: 30,
        max_http_requests: 50,
        max_response_bytes: 16 * 1024 * 1024,
        http_timeout_secs,
        concurrency: 4,
        unhealthy_after: 5,
    }
}

/// Compiled code is shared by every test of this module (the cache is content-addressed).
fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plex-plugin-cache")
}

struct Env {
    fake: PlexFake,
    host: PluginHost,
    _dir: tempfile::TempDir,
}

async fn start_host(dir: &Path, http_timeout_secs: u64) -> PluginHost {
    let bundled: Vec<_> = zondarr::plugins::bundled()
        .into_iter()
        .filter(|b| b.name == "plex")
        .collect();
    assert_eq!(bundled.len(), 1, "plugins/plex is bundled");
    assert!(
        !bundled[0].bytes.is_empty(),
        "plex.wasm is empty: the plugins were not built (PLUGINS_SKIP_BUILD)"
    );
    let host = PluginHost::start_with_bundled(
        &config(dir, http_timeout_secs),
        cache_dir(),
        INSTALL_ID.into(),
        bundled,
    )
    .await
    .expect("start the plugin host");
    assert_eq!(host.ids(), vec!["plex".to_owned()], "{:#?}", host.list());
    host
}

async fn env() -> Env {
    env_with_timeout(5).await
}

async fn env_with_timeout(http_timeout_secs: u64) -> Env {
    let fake = PlexFake::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let host = start_host(dir.path(), http_timeout_secs).await;
    Env {
        fake,
        host,
        _dir: dir,
    }
}

impl Env {
    /// The server as the daemon would describe it: the fake PMS, the owner's token, both plex.tv
    /// hosts pointed at the fake plex.tv.
    fn ctx(&self) -> ServerContext {
        ctx_with(&self.fake, &self.fake.owner_token())
    }

    async fn create(&self, user: &NewUser) -> Result<RemoteUser, ConnectorError> {
        self.host
            .create_user("plex", &self.ctx(), user)
            .await
            .map(|made| made.user)
            .map_err(connector)
    }

    /// Runs the PIN flow for `account` and returns the linked account.
    async fn link(&self, account: &Account) -> LinkedAccount {
        let start = self.host.start_link("plex", &self.ctx()).await.unwrap();
        assert!(
            self.fake.approve_pin(&start.pin_id, account.id),
            "approve {}",
            start.pin_id
        );
        match self
            .host
            .poll_link("plex", &self.ctx(), &start.pin_id)
            .await
            .unwrap()
        {
            LinkStatus::Linked(linked) => linked,
            other => panic!("expected a linked account, got {other:?}"),
        }
    }

    /// A new plex.tv account, linked through the PIN flow.
    async fn linked_invitee(&self, name: &str) -> (Account, LinkedAccount) {
        let account = self.fake.add_account(name, &format!("{name}@example.com"));
        let linked = self.link(&account).await;
        (account, linked)
    }

    fn only_share(&self, user_id: u64) -> Share {
        let shares = self.fake.shares_of(user_id);
        assert_eq!(shares.len(), 1, "{shares:#?}");
        shares.into_iter().next().unwrap()
    }
}

fn ctx_with(fake: &PlexFake, token: &str) -> ServerContext {
    ServerContext::new(fake.pms_url())
        .with_secret("token", token)
        .with_extra_host("plex-tv", fake.plex_tv_url())
        .with_extra_host("clients-plex-tv", fake.plex_tv_url())
}

fn connector(err: CallError) -> ConnectorError {
    match err {
        CallError::Connector { error, .. } => error,
        other => panic!("expected a connector error, got {other}"),
    }
}

fn new_user(
    linked: Option<LinkedAccount>,
    libraries: LibraryAccess,
    permissions: Vec<PermissionValue>,
) -> NewUser {
    NewUser {
        username: linked
            .as_ref()
            .map_or_else(|| "guest".to_owned(), |l| l.username.clone()),
        password: None,
        email: linked.as_ref().and_then(|l| l.email.clone()),
        linked_account: linked,
        libraries,
        permissions,
    }
}

fn only(keys: &[&str]) -> LibraryAccess {
    LibraryAccess::Only(keys.iter().map(|k| (*k).to_owned()).collect())
}

fn flag(key: &str, value: bool) -> PermissionValue {
    PermissionValue {
        key: key.into(),
        value: Value::Flag(value),
    }
}

fn text(key: &str, value: &str) -> PermissionValue {
    PermissionValue {
        key: key.into(),
        value: Value::Text(value.into()),
    }
}

/// The permissions the daemon sends for an invitation: every declared key.
fn declared(sync: bool, camera: bool, channels: bool) -> Vec<PermissionValue> {
    vec![
        flag("allow_sync", sync),
        flag("allow_camera_upload", camera),
        flag("allow_channels", channels),
    ]
}

/// Global section ids of PMS keys, in the given order.
fn global_ids(fake: &PlexFake, keys: &[&str]) -> Vec<u64> {
    let sections = fake.sections();
    keys.iter()
        .map(|k| sections.iter().find(|s| s.key == *k).expect("section").id)
        .collect()
}

fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort();
    items
}

/// An origin where nothing listens.
fn closed_origin() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------------
// Manifest, connection, libraries

#[tokio::test]
async fn manifest_declares_an_oauth_link_sharing_connector() {
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), 5).await;
    let manifest = host.manifest("plex").unwrap();
    assert_eq!(manifest.join_flow, JoinFlow::OauthLink);
    assert_eq!(
        sorted(&manifest.capabilities),
        sorted(&[
            Capability::ListUsers,
            Capability::CreateUser,
            Capability::DeleteUser,
            Capability::LibraryAccess,
            Capability::Permissions,
            Capability::OauthLink,
            Capability::FindUser,
        ])
    );
    let plex_tv = manifest.extra_host("plex-tv").unwrap();
    assert_eq!(
        (plex_tv.origin.as_str(), plex_tv.send_credentials),
        ("https://plex.tv", true)
    );
    let clients = manifest.extra_host("clients-plex-tv").unwrap();
    assert_eq!(
        (clients.origin.as_str(), clients.send_credentials),
        ("https://clients.plex.tv", false)
    );
    let token = manifest.config_field("token").unwrap();
    assert!(token.required && token.kind == ValueKind::Secret);
    let permissions: Vec<(&str, &Value)> = manifest
        .permissions
        .iter()
        .map(|p| (p.key.as_str(), &p.default_value))
        .collect();
    assert_eq!(
        permissions,
        [
            ("allow_sync", &Value::Flag(false)),
            ("allow_camera_upload", &Value::Flag(false)),
            ("allow_channels", &Value::Flag(false)),
            ("filter_movies", &Value::Text(String::new())),
            ("filter_television", &Value::Text(String::new())),
            ("filter_music", &Value::Text(String::new())),
        ]
    );
    assert!(
        manifest
            .permissions
            .iter()
            .all(|p| !p.label.is_empty() && p.description.is_some())
    );
    for filter in ["filter_movies", "filter_television", "filter_music"] {
        assert_eq!(
            manifest.config_field(filter).unwrap().kind,
            ValueKind::Text,
            "{filter}"
        );
    }
    let inspection = host.status("plex").unwrap();
    assert!(
        inspection.interfaces.contains(&"oauth"),
        "{:?}",
        inspection.interfaces
    );
}

#[tokio::test]
async fn test_connection_reads_identity_and_root() {
    let env = env().await;
    let info = env.host.test_connection("plex", &env.ctx()).await.unwrap();
    assert_eq!(info.name, env.fake.server_name());
    assert_eq!(info.product, "Plex Media Server");
    assert_eq!(info.version.as_deref(), Some("1.41.3.9314-a0bfb8370"));
    assert_eq!(info.server_id, Some(env.fake.machine_identifier()));
    let requests = env.fake.requests_to(Side::Pms, "/");
    assert_eq!(
        requests.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
        ["/identity", "/"]
    );
    for request in &requests {
        assert_eq!(
            request.header("x-plex-token"),
            Some(env.fake.owner_token().as_str())
        );
        assert_eq!(
            request.header("x-plex-client-identifier"),
            Some(client_id().as_str())
        );
        assert_eq!(request.header("x-plex-product"), Some("Zondarr"));
    }
}

#[tokio::test]
async fn a_bad_owner_token_is_unauthorized_on_the_pms_and_on_plex_tv() {
    let env = env().await;
    let ctx = ctx_with(&env.fake, "not-the-token");
    let err = env.host.test_connection("plex", &ctx).await.unwrap_err();
    assert_eq!(connector(err), ConnectorError::Unauthorized);
    // /identity needs no token, so list_users gets to plex.tv, which refuses it too.
    let err = env.host.list_users("plex", &ctx).await.unwrap_err();
    assert_eq!(connector(err), ConnectorError::Unauthorized);
    assert_eq!(env.fake.requests_to(Side::PlexTv, "/api/users").len(), 1);
}

#[tokio::test]
async fn libraries_are_listed_by_pms_key() {
    let env = env().await;
    let libraries = env.host.list_libraries("plex", &env.ctx()).await.unwrap();
    let got: Vec<(&str, &str, &str)> = libraries
        .iter()
        .map(|l| (l.id.as_str(), l.name.as_str(), l.kind.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("1", "Movies", "movies"),
            ("2", "TV Shows", "tvshows"),
            ("3", "Music", "music"),
            ("4", "Photos", "photos"),
            ("5", "Kids", "movies"),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Sign in with Plex

#[tokio::test]
async fn pin_flow_links_the_invitees_plex_account() {
    let env = env().await;
    let account = env.fake.add_account("ann", "ann@example.com");
    let start = env.host.start_link("plex", &env.ctx()).await.unwrap();

    let pin = env
        .fake
        .pin(&start.pin_id)
        .expect("the PIN exists on plex.tv");
    assert!(pin.strong);
    assert_eq!(pin.client_identifier, client_id());
    assert_eq!(pin.product, "Zondarr");
    assert_eq!(start.code, pin.code);
    assert_eq!(start.expires_in, 1800);
    assert_eq!(
        start.auth_url,
        format!(
            "https://app.plex.tv/auth#?clientID={}&code={}&context%5Bdevice%5D%5Bproduct%5D=Zondarr",
            client_id(),
            pin.code
        ),
        "the sign-in page stays app.plex.tv whatever the plex.tv override"
    );

    assert_eq!(
        env.host
            .poll_link("plex", &env.ctx(), &start.pin_id)
            .await
            .unwrap(),
        LinkStatus::Pending
    );
    assert!(env.fake.approve_pin(&start.pin_id, account.id));
    let LinkStatus::Linked(linked) = env
        .host
        .poll_link("plex", &env.ctx(), &start.pin_id)
        .await
        .unwrap()
    else {
        panic!("expected a linked account");
    };
    assert_eq!(linked.id, account.id.to_string());
    assert_eq!(linked.username, "ann");
    assert_eq!(linked.email.as_deref(), Some("ann@example.com"));
    assert_eq!(linked.token.expose(), account.token);

    // PINs and the account lookup go to clients.plex.tv: never the owner's token, the same
    // client identifier throughout, the invitee's token only for the account lookup.
    let requests = env.fake.requests_to(Side::PlexTv, "/api/v2/");
    assert_eq!(requests.len(), 4, "{requests:#?}");
    assert_eq!(requests[0].query_param("strong"), Some("true"));
    for request in &requests {
        assert_eq!(
            request.header("x-plex-client-identifier"),
            Some(client_id().as_str()),
            "{}",
            request.path
        );
        let expected = (request.path == "/api/v2/user").then_some(account.token.as_str());
        assert_eq!(request.header("x-plex-token"), expected, "{}", request.path);
    }
}

#[tokio::test]
async fn an_expired_or_unknown_pin_is_expired() {
    let env = env().await;
    let start = env.host.start_link("plex", &env.ctx()).await.unwrap();
    env.fake.expire_pin(&start.pin_id);
    assert_eq!(
        env.host
            .poll_link("plex", &env.ctx(), &start.pin_id)
            .await
            .unwrap(),
        LinkStatus::Expired
    );
    assert_eq!(
        env.host
            .poll_link("plex", &env.ctx(), "12345")
            .await
            .unwrap(),
        LinkStatus::Expired
    );
    let err = env
        .host
        .poll_link("plex", &env.ctx(), "../api/users")
        .await
        .unwrap_err();
    assert!(matches!(connector(err), ConnectorError::InvalidInput(_)));
}

#[tokio::test]
async fn a_401_for_the_invitee_token_is_unauthorized() {
    let env = env().await;
    let account = env.fake.add_account("bob", "bob@example.com");
    let start = env.host.start_link("plex", &env.ctx()).await.unwrap();
    env.fake.approve_pin(&start.pin_id, account.id);
    env.fake
        .fail_next(Side::PlexTv, "/api/v2/user", Fault::Status(401));
    let err = env
        .host
        .poll_link("plex", &env.ctx(), &start.pin_id)
        .await
        .unwrap_err();
    assert_eq!(connector(err), ConnectorError::Unauthorized);
}

// ---------------------------------------------------------------------------------------------
// Sharing

#[tokio::test]
async fn sharing_two_of_five_libraries_shares_exactly_those_with_settings_and_accepts() {
    let env = env().await;
    let (account, linked) = env.linked_invitee("ann").await;
    let user = new_user(Some(linked), only(&["2", "5"]), declared(true, false, true));

    let remote = env.create(&user).await.unwrap();
    assert_eq!(remote.id, account.id.to_string());
    assert_eq!(remote.username, "ann");
    assert_eq!(remote.email.as_deref(), Some("ann@example.com"));
    assert_eq!(remote.kind.as_deref(), Some("friend"));

    let share = env.only_share(account.id);
    assert_eq!(share.section_keys, ["2", "5"]);
    assert_eq!(share.section_ids, global_ids(&env.fake, &["2", "5"]));
    assert!(!share.all_libraries);
    assert!(share.accepted, "accepted on the invitee's behalf");
    assert!(
        env.fake.pending_invites().is_empty(),
        "{:#?}",
        env.fake.pending_invites()
    );
    assert!(env.fake.is_friend(account.id));
    assert_eq!(
        share.settings,
        Settings {
            allow_sync: true,
            allow_camera_upload: false,
            allow_channels: true,
            ..Settings::default()
        }
    );

    let post = &env
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/shared_servers"))
        .unwrap();
    let body = post.json().unwrap();
    assert_eq!(body["shared_server"]["invited_id"], json!(account.id));
    assert_eq!(
        body["shared_server"]["library_section_ids"],
        json!(global_ids(&env.fake, &["2", "5"]))
    );
    assert_eq!(
        post.header("x-plex-token"),
        Some(env.fake.owner_token().as_str())
    );
    let accept = env
        .fake
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/accept"))
        .unwrap();
    assert_eq!(
        accept.path,
        format!("/api/v2/shared_servers/{}/accept", share.id)
    );
    assert_eq!(accept.header("x-plex-token"), Some(account.token.as_str()));

    let users = env.host.list_users("plex", &env.ctx()).await.unwrap();
    let listed = users.iter().find(|u| u.id == remote.id).expect("listed");
    assert_eq!(
        (listed.kind.as_deref(), listed.email.as_deref()),
        (Some("friend"), Some("ann@example.com"))
    );
    assert!(
        listed
            .last_activity
            .as_deref()
            .is_some_and(|at| at.ends_with('Z')),
        "{listed:?}"
    );
}

#[tokio::test]
async fn all_libraries_are_shared_by_listing_every_id() {
    let env = env().await;
    let (account, linked) = env.linked_invitee("cat").await;
    env.create(&new_user(
        Some(linked),
        LibraryAccess::All,
        declared(false, false, false),
    ))
    .await
    .unwrap();
    let post = env
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/shared_servers"))
        .unwrap();
    let ids = &post.json().unwrap()["shared_server"]["library_section_ids"];
    assert_eq!(
        ids,
        &json!(global_ids(&env.fake, &["1", "2", "3", "4", "5"]))
    );
    let share = env.only_share(account.id);
    assert_eq!(share.section_keys, ["1", "2", "3", "4", "5"]);
    assert!(
        !share.all_libraries,
        "explicit ids, not plex.tv's implicit 'all'"
    );
}

#[tokio::test]
async fn an_empty_or_unknown_library_selection_is_refused_before_sharing() {
    let env = env().await;
    let (account, linked) = env.linked_invitee("dan").await;
    for access in [
        only(&[]),
        only(&["1", "9"]),
        only(&[&global_ids(&env.fake, &["1"])[0].to_string()]),
    ] {
        let err = env
            .create(&new_user(
                Some(linked.clone()),
                access.clone(),
                declared(false, false, false),
            ))
            .await;
        assert!(
            matches!(err, Err(ConnectorError::InvalidInput(_))),
            "{access:?}: {err:?}"
        );
    }
    assert!(
        env.fake
            .requests()
            .iter()
            .all(|r| r.method == "GET" || r.path.starts_with("/api/v2/pins"))
    );
    assert!(env.fake.shares_of(account.id).is_empty());
}

#[tokio::test]
async fn an_already_shared_account_is_updated_instead_of_failing() {
    let env = env().await;
    let (account, linked) = env.linked_invitee("eve").await;
    env.fake.add_friend(account.id);
    env.fake.share(account.id, &["1", "2", "3", "4"], true);
    env.fake.set_settings(
        account.id,
        Settings {
            allow_sync: true,
            ..Settings::default()
        },
    );

    let remote = env
        .create(&new_user(
            Some(linked),
            only(&["5"]),
            declared(false, true, false),
        ))
        .await
        .unwrap();
    assert_eq!(remote.kind.as_deref(), Some("friend"));
    let share = env.only_share(account.id);
    assert_eq!(share.section_keys, ["5"]);
    assert_eq!(
        share.settings,
        Settings {
            allow_sync: false,
            allow_camera_upload: true,
            ..Settings::default()
        }
    );
    assert!(
        !env.fake
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/shared_servers")),
        "updated, not shared again"
    );
}

#[tokio::test]
async fn already_sharing_from_plex_tv_falls_back_to_an_update() {
    let env = env().await;
    let (account, linked) = env.linked_invitee("fay").await;
    env.fake.share(account.id, &["1"], false);
    // The first listing misses the share (it appeared in between), so the connector POSTs and
    // plex.tv answers "already sharing".
    let shares_path = format!(
        "/api/servers/{}/shared_servers",
        env.fake.machine_identifier()
    );
    let empty = r#"<?xml version="1.0" encoding="UTF-8"?><MediaContainer size="0"/>"#;
    env.fake.fail_next(
        Side::PlexTv,
        &shares_path,
        Fault::Canned {
            status: 200,
            content_type: "text/xml".into(),
            body: empty.into(),
        },
    );

    env.create(&new_user(
        Some(linked),
        only(&["3", "4"]),
        declared(false, false, false),
    ))
    .await
    .unwrap();
    let share = env.only_share(account.id);
    assert_eq!(share.section_keys, ["3", "4"]);
    assert!(share.accepted, "the pending share was accepted too");
    let methods: Vec<String> = env
        .fake
        .requests_to(Side::PlexTv, &shares_path)
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(methods, ["GET", "POST", "GET", "PUT"]);
}

#[tokio::test]
async fn without_a_linked_account_the_share_goes_by_email_and_stays_pending() {
    let env = env().await;
    let account = env.fake.add_account("gus", "gus@example.com");
    let mut user = new_user(None, only(&["1"]), declared(false, false, false));
    user.email = Some("GUS@example.com".into());
    let remote = env.create(&user).await.unwrap();
    assert_eq!(
        remote.id,
        account.id.to_string(),
        "plex.tv resolved the account"
    );
    assert_eq!(remote.kind.as_deref(), Some("shared"));
    let share = env.only_share(account.id);
    assert!(
        !share.accepted,
        "nobody can accept without the invitee's token"
    );
    let post = env
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        post.json().unwrap()["shared_server"]["invited_email"],
        "GUS@example.com"
    );
    assert!(
        env.fake
            .requests_to(Side::PlexTv, "/api/v2/shared_servers")
            .is_empty()
    );
}

#[tokio::test]
async fn library_update_replaces_the_shared_libraries() {
    let env = env().await;
    let (account, linked) = env.linked_invitee("hal").await;
    env.create(&new_user(
        Some(linked),
        only(&["1", "2"]),
        declared(false, false, false),
    ))
    .await
    .unwrap();
    let id = account.id.to_string();
    env.host
        .set_library_access("plex", &env.ctx(), &id, &only(&["3"]))
        .await
        .unwrap();
    assert_eq!(env.only_share(account.id).section_keys, ["3"]);
    env.host
        .set_library_access("plex", &env.ctx(), &id, &LibraryAccess::All)
        .await
        .unwrap();
    let share = env.only_share(account.id);
    assert_eq!(share.section_keys, ["1", "2", "3", "4", "5"]);
    assert!(!share.all_libraries);

    let err = env
        .host
        .set_library_access("plex", &env.ctx(), &id, &only(&[]))
        .await
        .unwrap_err();
    assert!(matches!(connector(err), ConnectorError::InvalidInput(_)));
    assert_eq!(
        env.only_share(account.id).section_keys.len(),
        5,
        "unchanged"
    );
    let err = env
        .host
        .set_library_access("plex", &env.ctx(), "999", &only(&["1"]))
        .await
        .unwrap_err();
    assert!(matches!(connector(err), ConnectorError::NotFound(_)));
}

#[tokio::test]
async fn set_permissions_changes_only_the_given_settings() {
    let env = env().await;
    let (account, linked) = env.linked_invitee("ida").await;
    env.create(&new_user(
        Some(linked),
        only(&["1"]),
        declared(true, true, false),
    ))
    .await
    .unwrap();
    let id = account.id.to_string();
    let values = [
        flag("allow_channels", true),
        text("filter_movies", "contentRating=G%2CPG|label!=horror"),
    ];
    env.host
        .set_permissions("plex", &env.ctx(), &id, &values)
        .await
        .unwrap();
    assert_eq!(
        env.fake.settings_of(account.id),
        Settings {
            allow_sync: true,
            allow_camera_upload: true,
            allow_channels: true,
            filter_movies: "contentRating=G%2CPG|label!=horror".into(),
            ..Settings::default()
        }
    );
    let put = env
        .fake
        .requests_to(Side::PlexTv, "/api/v2/sharings/")
        .pop()
        .unwrap();
    assert_eq!(put.method, "PUT");
    assert_eq!(
        put.query
            .iter()
            .filter(|(k, _)| !k.starts_with("X-Plex"))
            .count(),
        2,
        "{:?}",
        put.query
    );

    for bad in [
        flag("allow_everything", true),
        text("filter_music", "genre=rock"),
        text("allow_sync", "yes"),
    ] {
        let err = env
            .host
            .set_permissions("plex", &env.ctx(), &id, std::slice::from_ref(&bad))
            .await
            .unwrap_err();
        assert!(
            matches!(connector(err), ConnectorError::InvalidInput(_)),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn delete_removes_the_share_and_optionally_the_friend() {
    let env = env().await;
    let (ann, linked) = env.linked_invitee("ann").await;
    env.create(&new_user(
        Some(linked),
        only(&["1"]),
        declared(false, false, false),
    ))
    .await
    .unwrap();
    let (bob, linked) = env.linked_invitee("bob").await;
    env.create(&new_user(
        Some(linked),
        only(&["1"]),
        declared(false, false, false),
    ))
    .await
    .unwrap();
    env.fake.share_other_server(ann.id);

    let keep = DeleteOptions {
        remove_account: false,
    };
    env.host
        .delete_user("plex", &env.ctx(), &ann.id.to_string(), keep)
        .await
        .unwrap();
    assert!(env.fake.shares_of(ann.id).is_empty());
    assert!(
        env.fake.is_friend(ann.id),
        "only the share of this server is removed"
    );
    assert_eq!(
        env.fake
            .all_shares()
            .iter()
            .filter(|s| s.user_id == ann.id)
            .count(),
        1,
        "the other server's share stays"
    );

    let remove = DeleteOptions {
        remove_account: true,
    };
    env.host
        .delete_user("plex", &env.ctx(), &bob.id.to_string(), remove)
        .await
        .unwrap();
    assert!(env.fake.shares_of(bob.id).is_empty());
    assert!(!env.fake.is_friend(bob.id));
    let err = env
        .host
        .delete_user("plex", &env.ctx(), &bob.id.to_string(), keep)
        .await
        .unwrap_err();
    assert!(matches!(connector(err), ConnectorError::NotFound(_)));

    let carl = env.fake.add_account("carl", "carl@example.com");
    env.fake.add_home_user(carl.id);
    env.fake.share(carl.id, &["2"], true);
    env.host
        .delete_user("plex", &env.ctx(), &carl.id.to_string(), remove)
        .await
        .unwrap();
    assert!(!env.fake.is_home_user(carl.id));
    assert!(
        env.fake
            .requests()
            .iter()
            .any(|r| r.method == "DELETE" && r.path == format!("/api/home/users/{}", carl.id))
    );
}

#[tokio::test]
async fn list_users_lists_only_the_users_of_this_server() {
    let env = env().await;
    let friend = env.fake.add_account("fred", "fred@example.com");
    env.fake.add_friend(friend.id);
    env.fake.share(friend.id, &["1"], true);
    let pending = env.fake.add_account("pia", "pia@example.com");
    env.fake.add_friend(pending.id);
    env.fake.share(pending.id, &["1"], false);
    let home = env.fake.add_account("hank", "hank@example.com");
    env.fake.add_home_user(home.id);
    env.fake.share(home.id, &["2"], true);
    let elsewhere = env.fake.add_account("otto", "otto@example.com");
    env.fake.add_friend(elsewhere.id);
    env.fake.share_other_server(elsewhere.id);

    let users = env.host.list_users("plex", &env.ctx()).await.unwrap();
    let mut got: Vec<(String, String, String)> = users
        .iter()
        .map(|u| {
            (
                u.id.clone(),
                u.username.clone(),
                u.kind.clone().unwrap_or_default(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (
            friend.id.to_string(),
            "fred".to_owned(),
            "friend".to_owned(),
        ),
        (
            pending.id.to_string(),
            "pia".to_owned(),
            "shared".to_owned(),
        ),
        (home.id.to_string(), "hank".to_owned(), "home".to_owned()),
        (
            env.fake.owner().id.to_string(),
            env.fake.owner().username,
            "owner".to_owned(),
        ),
    ];
    want.sort();
    assert_eq!(got, want);
}

// ---------------------------------------------------------------------------------------------
// Typed errors

#[tokio::test]
async fn plex_tv_down_is_unreachable() {
    let env = env().await;
    let down = closed_origin();
    let ctx = env
        .ctx()
        .with_extra_host("plex-tv", down.clone())
        .with_extra_host("clients-plex-tv", down);
    let err = env.host.list_users("plex", &ctx).await.unwrap_err();
    assert!(matches!(connector(err), ConnectorError::Unreachable(_)));
    let err = env.host.start_link("plex", &ctx).await.unwrap_err();
    assert!(matches!(connector(err), ConnectorError::Unreachable(_)));
    // The PMS alone still answers.
    assert_eq!(
        env.host.list_libraries("plex", &ctx).await.unwrap().len(),
        5
    );

    env.fake
        .fail_always(Side::PlexTv, "/api/", Fault::Status(503));
    let err = env.host.list_users("plex", &env.ctx()).await.unwrap_err();
    assert_eq!(connector(err), ConnectorError::RemoteStatus(503));
}

#[tokio::test]
async fn malformed_xml_and_missing_attributes_are_invalid_responses() {
    let env = env().await;
    env.fake
        .fail_next(Side::PlexTv, "/api/users", Fault::MalformedXml);
    let err = connector(env.host.list_users("plex", &env.ctx()).await.unwrap_err());
    assert!(matches!(err, ConnectorError::InvalidResponse(_)), "{err:?}");

    env.fake
        .fail_next(Side::Pms, "/library/sections", Fault::Garbage);
    let err = connector(
        env.host
            .list_libraries("plex", &env.ctx())
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, ConnectorError::InvalidResponse(_)), "{err:?}");

    let no_machine =
        r#"<?xml version="1.0" encoding="UTF-8"?><MediaContainer size="0" version="1.4"/>"#;
    env.fake.fail_next(
        Side::Pms,
        "/identity",
        Fault::Canned {
            status: 200,
            content_type: "text/xml".into(),
            body: no_machine.into(),
        },
    );
    let err = connector(
        env.host
            .test_connection("plex", &env.ctx())
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(&err, ConnectorError::InvalidResponse(m) if m.contains("machineIdentifier")),
        "{err:?}"
    );

    let html = "<html><body>router login</body></html>";
    env.fake.fail_next(
        Side::Pms,
        "/identity",
        Fault::Canned {
            status: 200,
            content_type: "text/html".into(),
            body: html.into(),
        },
    );
    let err = connector(
        env.host
            .test_connection("plex", &env.ctx())
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(&err, ConnectorError::InvalidResponse(m) if m.contains("Plex Media Server")),
        "{err:?}"
    );
}

#[tokio::test]
async fn unexpected_json_is_an_invalid_response() {
    let env = env().await;
    env.fake
        .fail_next(Side::PlexTv, "/api/v2/pins", Fault::UnexpectedJson);
    let err = connector(env.host.start_link("plex", &env.ctx()).await.unwrap_err());
    assert!(matches!(err, ConnectorError::InvalidResponse(_)), "{err:?}");

    let (_, linked) = env.linked_invitee("ulf").await;
    env.fake.fail_next(
        Side::PlexTv,
        "/api/v2/shared_servers/invites",
        Fault::UnexpectedJson,
    );
    let err = env
        .create(&new_user(
            Some(linked),
            only(&["1"]),
            declared(false, false, false),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::InvalidResponse(_)), "{err:?}");
}

#[tokio::test]
async fn a_rate_limit_is_rate_limited_with_the_delay() {
    let env = env().await;
    let (_, linked) = env.linked_invitee("rae").await;
    env.fake.fail_next(
        Side::PlexTv,
        "/api/servers/",
        Fault::RateLimited {
            retry_after: Some(7),
        },
    );
    let err = env
        .create(&new_user(
            Some(linked),
            only(&["1"]),
            declared(false, false, false),
        ))
        .await
        .unwrap_err();
    assert_eq!(err, ConnectorError::RateLimited(Some(7)));

    env.fake.fail_next(
        Side::PlexTv,
        "/api/v2/pins",
        Fault::RateLimited { retry_after: None },
    );
    let err = connector(env.host.start_link("plex", &env.ctx()).await.unwrap_err());
    assert_eq!(err, ConnectorError::RateLimited(None));
}

#[tokio::test]
async fn a_hanging_plex_tv_is_a_timeout() {
    let env = env_with_timeout(1).await;
    env.fake.fail_next(
        Side::PlexTv,
        "/api/users",
        Fault::Hang(Duration::from_secs(5)),
    );
    let err = connector(env.host.list_users("plex", &env.ctx()).await.unwrap_err());
    assert_eq!(err, ConnectorError::Timeout);
}

// ---------------------------------------------------------------------------------------------
// Logs

/// Everything `tracing` writes while the guard lives, as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn no_token_appears_in_any_log_line() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let env = env().await;
    let ctx = env.ctx();
    env.host.test_connection("plex", &ctx).await.unwrap();
    env.host.list_libraries("plex", &ctx).await.unwrap();
    let (account, linked) = env.linked_invitee("zoe").await;
    env.create(&new_user(
        Some(linked.clone()),
        only(&["1", "3"]),
        declared(true, false, false),
    ))
    .await
    .unwrap();
    // Again: the update path, with the share's accessToken in the listing.
    env.create(&new_user(
        Some(linked),
        only(&["1"]),
        declared(true, false, false),
    ))
    .await
    .unwrap();
    env.host.list_users("plex", &ctx).await.unwrap();
    let id = account.id.to_string();
    env.host
        .set_library_access("plex", &ctx, &id, &only(&["2"]))
        .await
        .unwrap();
    env.host
        .set_permissions("plex", &ctx, &id, &[flag("allow_sync", false)])
        .await
        .unwrap();
    let share = env.only_share(account.id);
    env.fake
        .fail_next(Side::PlexTv, "/api/users", Fault::MalformedXml);
    env.host.list_users("plex", &ctx).await.unwrap_err();
    env.host
        .test_connection("plex", &ctx_with(&env.fake, "wrong-token-0123456789"))
        .await
        .unwrap_err();
    env.host
        .delete_user(
            "plex",
            &ctx,
            &id,
            DeleteOptions {
                remove_account: true,
            },
        )
        .await
        .unwrap();

    let text = capture.text();
    let owner = env.fake.owner_token();
    for (name, secret) in [
        ("owner token", owner.as_str()),
        ("invitee token", account.token.as_str()),
        ("share access token", share.access_token.as_str()),
        ("wrong token", "wrong-token-0123456789"),
    ] {
        assert!(!secret.is_empty());
        assert!(
            !text.contains(secret),
            "the {name} appears in the log:\n{text}"
        );
    }
    // The capture saw the plugin's own lines and the host's request lines, so the check above
    // looked at real output.
    assert!(
        text.contains("shared this server with plex.tv account"),
        "{text}"
    );
    assert!(text.contains("plugin http request"), "{text}");
    assert!(text.contains("/api/v2/user"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// The fake itself: the traps the connector must avoid are real in it.

#[tokio::test]
async fn the_fake_shares_every_library_for_an_empty_list_and_checks_tokens() {
    let fake = PlexFake::start().await;
    let http = reqwest::Client::new();
    let machine = fake.machine_identifier();
    let account = fake.add_account("amy", "amy@example.com");
    let url = format!(
        "{}/api/servers/{machine}/shared_servers",
        fake.plex_tv_url()
    );
    let body = json!({"server_id": machine, "shared_server": {"library_section_ids": [], "invited_id": account.id}});

    let response = http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(r#"<Response code="401""#)
    );

    let response = http
        .post(&url)
        .header("X-Plex-Token", fake.owner_token())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let share = fake.shares_of(account.id).pop().unwrap();
    assert!(share.all_libraries);
    assert_eq!(share.section_keys.len(), 5);

    let again = http
        .post(&url)
        .header("X-Plex-Token", fake.owner_token())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("already sharing"));

    let users: Json = http
        .get(format!("{}/api/users", fake.plex_tv_url()))
        .query(&[("X-Plex-Token", fake.owner_token())])
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(users["MediaContainer"]["size"].is_string(), "{users}");

    let pms = http
        .get(format!("{}/library/sections", fake.pms_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(pms.status(), 401);
    let v2 = http
        .get(format!("{}/api/v2/user", fake.plex_tv_url()))
        .header("Accept", "application/json")
        .header("X-Plex-Token", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(v2.status(), 401);
    let errors: Json = v2.json().await.unwrap();
    assert_eq!(errors["errors"][0]["status"], 401);
}

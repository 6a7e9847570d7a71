//! What the fake does for each route, on its state: the Jellyfin behaviour the module docs of
//! `jellyfin` list.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::http::{Caller, Incoming, Reply, Route, field, parse_authorization, query_value, route};
use super::policy::{convert_policy_value, default_configuration, default_policy, new_user_policy};
use super::{
    Account, ERROR_TEXT, FakeSession, FakeUser, PROVIDER_FIELDS, Shared, State, new_id, parse_guid,
};
use crate::policy::replace_policy;

/// A .NET-style UTC timestamp with seven fractional digits.
pub(super) fn dotnet_date(at: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}Z",
        at.format("%Y-%m-%dT%H:%M:%S"),
        at.timestamp_subsec_nanos() / 100
    )
}

/// Jellyfin's name rule, `^(?!\s)[\w\ \-'._@+]+(?<!\s)$` (`\w` as Unicode letters, digits and
/// `_`).
pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(char::is_whitespace)
        && !name.ends_with(char::is_whitespace)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || " -'._@+".contains(c))
}

impl State {
    pub(super) fn account(&self, id: &str) -> Option<&Account> {
        self.by_id.get(id).map(|&i| &self.accounts[i])
    }

    pub(super) fn account_mut(&mut self, id: &str) -> Option<&mut Account> {
        self.by_id.get(id).map(|&i| &mut self.accounts[i])
    }

    pub(super) fn remove_account(&mut self, id: &str) {
        self.accounts.retain(|a| a.user.id != id);
        self.by_id = (self.accounts.iter().enumerate())
            .map(|(i, a)| (a.user.id.clone(), i))
            .collect();
        self.by_name.clear();
        for (i, a) in self.accounts.iter().enumerate() {
            self.by_name.entry(a.name_key.clone()).or_insert(i);
        }
    }

    pub(super) fn account_by_name(&self, name: &str) -> Option<&Account> {
        self.by_name
            .get(&name.to_uppercase())
            .map(|&i| &self.accounts[i])
    }

    pub(super) fn insert_account(&mut self, name: &str, password: &str) -> String {
        let id = new_id();
        self.by_id.insert(id.clone(), self.accounts.len());
        // The first account of a name keeps it, as a scan in order would find it.
        self.by_name
            .entry(name.to_uppercase())
            .or_insert(self.accounts.len());
        self.accounts.push(Account {
            name_key: name.to_uppercase(),
            user: FakeUser {
                id: id.clone(),
                name: name.to_owned(),
                policy: new_user_policy(),
                has_password: !password.is_empty(),
                last_login: None,
                last_activity: None,
            },
            password: password.to_owned(),
            configuration: default_configuration(),
        });
        id
    }

    fn is_admin(&self, caller: &Caller) -> bool {
        match caller {
            Caller::ApiKey => true,
            Caller::User { id, .. } => self
                .account(id)
                .is_some_and(|a| a.user.flag("IsAdministrator")),
        }
    }

    fn caller(&self, shared: &Shared, request: &Incoming<'_>) -> Option<Caller> {
        let token = parse_authorization(request.headers)
            .and_then(|fields| fields.get("Token").cloned())
            .or_else(|| query_value(&request.query, "ApiKey").map(str::to_owned))?;
        if token == shared.api_key {
            return Some(Caller::ApiKey);
        }
        self.sessions
            .iter()
            .find(|s| s.token == token)
            .map(|s| Caller::User {
                id: s.user_id.clone(),
                token: s.token.clone(),
            })
    }

    pub(super) fn dispatch(&mut self, shared: &Shared, request: &Incoming<'_>) -> Reply {
        let Some(route) = route(request.method, request.path) else {
            return Reply::empty(404);
        };
        match route {
            Route::PublicInfo => return self.public_info(shared),
            Route::AuthenticateByName => return self.authenticate(request),
            _ => {}
        }
        let Some(caller) = self.caller(shared, request) else {
            return Reply::empty(401);
        };
        let admin = self.is_admin(&caller);
        let elevated = matches!(
            route,
            Route::VirtualFolders
                | Route::MediaFolders
                | Route::NewUser
                | Route::DeleteUser(_)
                | Route::Policy(_)
        );
        if elevated && !admin {
            return Reply::empty(403);
        }
        match route {
            Route::Info => self.info(shared),
            Route::VirtualFolders => self.virtual_folders(),
            Route::MediaFolders => self.media_folders(),
            Route::ListUsers => self.list_users(&caller, admin, request),
            Route::NewUser => self.create_user(request),
            Route::Password => self.password(&caller, admin, request),
            Route::GetUser(id) => self.get_user(&caller, admin, &id),
            Route::DeleteUser(id) => self.delete_user(&id),
            Route::Policy(id) => self.update_policy(&id, request),
            Route::Logout => {
                if let Caller::User { token, .. } = &caller {
                    self.sessions.retain(|s| &s.token != token);
                }
                Reply::empty(204)
            }
            Route::PublicInfo | Route::AuthenticateByName => Reply::empty(500),
        }
    }

    fn public_info(&self, shared: &Shared) -> Reply {
        let mut info = json!({
            "LocalAddress": shared.base_url,
            "ServerName": self.server_name,
            "Version": self.version,
            "Id": self.server_id,
            "StartupWizardCompleted": true,
        });
        if let Some(product) = &self.product_name {
            info["ProductName"] = json!(product);
        }
        Reply::json(200, &info)
    }

    fn info(&self, shared: &Shared) -> Reply {
        let mut info = json!({
            "LocalAddress": shared.base_url,
            "ServerName": self.server_name,
            "Version": self.version,
            "Id": self.server_id,
            "StartupWizardCompleted": true,
            "PackageName": "fake",
            "HasPendingRestart": false,
            "IsShuttingDown": false,
            "SupportsLibraryMonitor": true,
            "WebSocketPortNumber": shared.port,
            "CompletedInstallations": [],
            "CanSelfRestart": true,
            "CanLaunchWebBrowser": false,
            "CastReceiverApplications": [],
            "HasUpdateAvailable": false,
        });
        if let Some(product) = &self.product_name {
            info["ProductName"] = json!(product);
        }
        Reply::json(200, &info)
    }

    fn virtual_folders(&self) -> Reply {
        let folders: Vec<Value> = self
            .libraries
            .iter()
            .map(|library| {
                let mut folder = json!({
                    "Name": library.name,
                    "Locations": [format!("/media/{}", library.name.to_lowercase())],
                    "ItemId": library.id,
                    "PrimaryImageItemId": library.id,
                    "RefreshStatus": "Idle",
                });
                if let Some(kind) = &library.collection_type {
                    folder["CollectionType"] = json!(kind);
                }
                folder
            })
            .collect();
        Reply::json(200, &Value::Array(folders))
    }

    fn media_folders(&self) -> Reply {
        let items: Vec<Value> = self
            .libraries
            .iter()
            .map(|library| {
                let mut item = json!({
                    "Name": library.name,
                    "ServerId": self.server_id,
                    "Id": library.id,
                    "IsFolder": true,
                    "Type": "CollectionFolder",
                });
                if let Some(kind) = &library.collection_type {
                    item["CollectionType"] = json!(kind);
                }
                item
            })
            .collect();
        let count = items.len();
        Reply::json(
            200,
            &json!({ "Items": items, "TotalRecordCount": count, "StartIndex": 0 }),
        )
    }

    fn user_dto(&self, account: &Account) -> Value {
        let user = &account.user;
        let mut dto = json!({
            "Name": user.name,
            "ServerId": self.server_id,
            "Id": user.id,
            "HasPassword": user.has_password,
            "HasConfiguredPassword": user.has_password,
            "HasConfiguredEasyPassword": false,
            "EnableAutoLogin": false,
            "Configuration": account.configuration,
            "Policy": user.policy,
        });
        if let Some(at) = user.last_login {
            dto["LastLoginDate"] = json!(dotnet_date(at));
        }
        if let Some(at) = user.last_activity {
            dto["LastActivityDate"] = json!(dotnet_date(at));
        }
        dto
    }

    fn list_users(&self, caller: &Caller, admin: bool, request: &Incoming<'_>) -> Reply {
        let filter = |name: &str| {
            query_value(&request.query, name).and_then(|v| match v.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            })
        };
        let (hidden, disabled) = (filter("isHidden"), filter("isDisabled"));
        let users: Vec<Value> = self
            .accounts
            .iter()
            .filter(|a| admin || matches!(caller, Caller::User { id, .. } if *id == a.user.id))
            .filter(|a| hidden.is_none_or(|h| a.user.flag("IsHidden") == h))
            .filter(|a| disabled.is_none_or(|d| a.user.flag("IsDisabled") == d))
            .map(|a| self.user_dto(a))
            .collect();
        Reply::json(200, &Value::Array(users))
    }

    fn get_user(&self, caller: &Caller, admin: bool, id: &str) -> Reply {
        let Some(id) = parse_guid(id) else {
            return Reply::problem(&[("userId", format!("The value '{id}' is not valid."))]);
        };
        let Some(account) = self.account(&id) else {
            return Reply::user_not_found();
        };
        if !admin && !matches!(caller, Caller::User { id: own, .. } if *own == id) {
            return Reply::empty(403);
        }
        Reply::json(200, &self.user_dto(account))
    }

    fn create_user(&mut self, request: &Incoming<'_>) -> Reply {
        let Some(body) = request.json_object() else {
            return Reply::problem(&[("", "A non-empty request body is required.".to_owned())]);
        };
        let Some(name) = field(&body, "Name").and_then(Value::as_str) else {
            return Reply::problem(&[("Name", "The Name field is required.".to_owned())]);
        };
        let password = field(&body, "Password")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !valid_name(name) || self.account_by_name(name).is_some() {
            return Reply::text(400, ERROR_TEXT);
        }
        let id = self.insert_account(name, password);
        match self.account(&id) {
            Some(account) => Reply::json(200, &self.user_dto(account)),
            None => Reply::empty(500),
        }
    }

    fn delete_user(&mut self, id: &str) -> Reply {
        let Some(id) = parse_guid(id) else {
            return Reply::problem(&[("userId", format!("The value '{id}' is not valid."))]);
        };
        let Some(account) = self.account(&id) else {
            return Reply::user_not_found();
        };
        let admins = self
            .accounts
            .iter()
            .filter(|a| a.user.flag("IsAdministrator"))
            .count();
        if account.user.flag("IsAdministrator") && admins == 1 {
            return Reply::text(400, ERROR_TEXT);
        }
        self.remove_account(&id);
        self.sessions.retain(|s| s.user_id != id);
        Reply::empty(204)
    }

    fn update_policy(&mut self, id: &str, request: &Incoming<'_>) -> Reply {
        let Some(id) = parse_guid(id) else {
            return Reply::problem(&[("userId", format!("The value '{id}' is not valid."))]);
        };
        let Some(body) = request.json_object() else {
            return Reply::problem(&[("", "A non-empty request body is required.".to_owned())]);
        };
        // A new policy object: Jellyfin's defaults, overwritten by what was sent.
        let (policy, mut errors) = replace_policy(
            default_policy(),
            &body,
            &PROVIDER_FIELDS,
            true,
            convert_policy_value,
        );
        for provider in PROVIDER_FIELDS {
            let present = policy
                .get(provider)
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty());
            if !present {
                errors.push((
                    provider.to_owned(),
                    format!("The {provider} field is required."),
                ));
            }
        }
        if !errors.is_empty() {
            return Reply::problem(&errors);
        }
        let Some(account) = self.account(&id) else {
            return Reply::user_not_found();
        };
        let was_admin = account.user.flag("IsAdministrator");
        let was_disabled = account.user.flag("IsDisabled");
        let flag = |name: &str| policy.get(name).and_then(Value::as_bool).unwrap_or(false);
        // Counted only when a rule needs them: a join's policy update on a server with 10,000
        // accounts must not read every account's policy (the bench measures the daemon).
        let admins = || {
            self.accounts
                .iter()
                .filter(|a| a.user.flag("IsAdministrator"))
                .count()
        };
        let enabled = || {
            self.accounts
                .iter()
                .filter(|a| !a.user.flag("IsDisabled"))
                .count()
        };
        if was_admin && !flag("IsAdministrator") && admins() == 1 {
            return Reply::text(
                403,
                "There must be at least one user in the system with administrative access.",
            );
        }
        if was_admin && flag("IsDisabled") {
            return Reply::text(403, "Administrators cannot be disabled.");
        }
        if !was_disabled && flag("IsDisabled") && enabled() == 1 {
            return Reply::text(
                403,
                "There must be at least one enabled user in the system.",
            );
        }
        if !was_disabled && flag("IsDisabled") {
            self.sessions.retain(|s| s.user_id != id);
        }
        if let Some(account) = self.account_mut(&id) {
            account.user.policy = Value::Object(policy);
        }
        Reply::empty(204)
    }

    fn password(&mut self, caller: &Caller, admin: bool, request: &Incoming<'_>) -> Reply {
        let user_id = match query_value(&request.query, "userId") {
            Some(text) => match parse_guid(text) {
                Some(id) => id,
                None => {
                    return Reply::problem(&[(
                        "userId",
                        format!("The value '{text}' is not valid."),
                    )]);
                }
            },
            None => match caller {
                Caller::User { id, .. } => id.clone(),
                Caller::ApiKey => String::new(),
            },
        };
        if self.account(&user_id).is_none() {
            return Reply::user_not_found();
        }
        let own = matches!(caller, Caller::User { id, .. } if *id == user_id);
        if !admin && !own {
            return Reply::text(403, "User is not allowed to update the password.");
        }
        let body = request.json_object().unwrap_or_default();
        let reset = field(&body, "ResetPassword").and_then(Value::as_bool) == Some(true);
        let Some(account) = self.account_mut(&user_id) else {
            return Reply::user_not_found();
        };
        if reset {
            account.password.clear();
            account.user.has_password = false;
            return Reply::empty(204);
        }
        if !admin || own {
            let current = field(&body, "CurrentPw")
                .and_then(Value::as_str)
                .unwrap_or("");
            if current != account.password {
                return Reply::text(403, "Invalid user or password entered.");
            }
        }
        let new = field(&body, "NewPw").and_then(Value::as_str).unwrap_or("");
        new.clone_into(&mut account.password);
        account.user.has_password = !new.is_empty();
        let keep = match caller {
            Caller::User { token, .. } => Some(token.clone()),
            Caller::ApiKey => None,
        };
        self.sessions
            .retain(|s| s.user_id != user_id || Some(&s.token) == keep.as_ref());
        Reply::empty(204)
    }

    fn authenticate(&mut self, request: &Incoming<'_>) -> Reply {
        let fields = parse_authorization(request.headers).unwrap_or_default();
        let get = |key: &str| fields.get(key).filter(|v| !v.is_empty()).cloned();
        let (Some(client), Some(device), Some(device_id), Some(version)) = (
            get("Client"),
            get("Device"),
            get("DeviceId"),
            get("Version"),
        ) else {
            return Reply::text(400, ERROR_TEXT);
        };
        let body = request.json_object().unwrap_or_default();
        let username = field(&body, "Username")
            .and_then(Value::as_str)
            .unwrap_or("");
        let password = field(&body, "Pw").and_then(Value::as_str).unwrap_or("");
        if username.is_empty() {
            return Reply::text(400, ERROR_TEXT);
        }
        let Some(id) = self.account_by_name(username).map(|a| a.user.id.clone()) else {
            return Reply::text(401, ERROR_TEXT);
        };
        let Some(account) = self.account_mut(&id) else {
            return Reply::text(401, ERROR_TEXT);
        };
        if account.password != password {
            let attempts = account.user.policy["InvalidLoginAttemptCount"]
                .as_i64()
                .unwrap_or(0);
            account.user.policy["InvalidLoginAttemptCount"] = json!(attempts + 1);
            return Reply::text(401, ERROR_TEXT);
        }
        if account.user.flag("IsDisabled") {
            return Reply::text(403, ERROR_TEXT);
        }
        let now = Utc::now();
        account.user.policy["InvalidLoginAttemptCount"] = json!(0);
        account.user.last_login = Some(now);
        account.user.last_activity = Some(now);
        let user_name = account.user.name.clone();
        self.sessions
            .retain(|s| !(s.user_id == id && s.device_id == device_id));
        let token = new_id();
        self.sessions.push(FakeSession {
            token: token.clone(),
            user_id: id.clone(),
            client: client.clone(),
            device: device.clone(),
            device_id: device_id.clone(),
            version: version.clone(),
        });
        let Some(account) = self.account(&id) else {
            return Reply::empty(500);
        };
        Reply::json(
            200,
            &json!({
                "User": self.user_dto(account),
                "SessionInfo": {
                    "Id": new_id(),
                    "UserId": id,
                    "UserName": user_name,
                    "Client": client,
                    "LastActivityDate": dotnet_date(now),
                    "DeviceName": device,
                    "DeviceId": device_id,
                    "ApplicationVersion": version,
                    "IsActive": true,
                    "SupportsMediaControl": false,
                    "SupportsRemoteControl": false,
                    "HasCustomDeviceName": false,
                    "ServerId": self.server_id,
                    "PlayableMediaTypes": [],
                    "AdditionalUsers": [],
                    "SupportedCommands": [],
                },
                "AccessToken": token,
                "ServerId": self.server_id,
            }),
        )
    }
}

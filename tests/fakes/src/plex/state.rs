//! The fake's world: plex.tv accounts with their tokens, the owner's friends and Plex Home, the
//! owner's servers with their library sections (PMS key and plex.tv global id), shares with
//! settings and acceptance, and sign-in PINs.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use rand::Rng;
use rand::distr::Alphanumeric;

/// A plex.tv account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// plex.tv account id.
    pub id: u64,
    /// Account UUID (`uuid`).
    pub uuid: String,
    /// Username.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// The account's `X-Plex-Token`.
    pub token: String,
}

/// A library section of a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The PMS key (`Directory@key`, `Section@key`), e.g. `"1"`.
    pub key: String,
    /// plex.tv's global section id (`Section@id`), what sharing takes.
    pub id: u64,
    /// Title.
    pub title: String,
    /// PMS type: `movie`, `show`, `artist`, `photo`.
    pub kind: String,
}

/// Sharing settings of an account (plex.tv keeps them per invited account).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `allowSync`.
    pub allow_sync: bool,
    /// `allowCameraUpload`.
    pub allow_camera_upload: bool,
    /// `allowChannels`.
    pub allow_channels: bool,
    /// `filterMovies`.
    pub filter_movies: String,
    /// `filterTelevision`.
    pub filter_television: String,
    /// `filterMusic`.
    pub filter_music: String,
}

impl Settings {
    /// Sets one setting by its Plex name from a wire value (`1`/`0`/`true`/`false` for flags);
    /// `false` for a name that is not a setting.
    pub(crate) fn apply(&mut self, name: &str, value: &str) -> bool {
        let flag = matches!(value.trim(), "1" | "true");
        match name {
            "allowSync" => self.allow_sync = flag,
            "allowCameraUpload" => self.allow_camera_upload = flag,
            "allowChannels" => self.allow_channels = flag,
            "filterMovies" => value.clone_into(&mut self.filter_movies),
            "filterTelevision" => value.clone_into(&mut self.filter_television),
            "filterMusic" => value.clone_into(&mut self.filter_music),
            _ => return false,
        }
        true
    }
}

/// A share of one of the owner's servers, as the tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// `SharedServer@id`.
    pub id: u64,
    /// The server's machine identifier.
    pub machine_identifier: String,
    /// The invited account.
    pub user_id: u64,
    /// Shared global section ids, in the order given.
    pub section_ids: Vec<u64>,
    /// The same sections as PMS keys.
    pub section_keys: Vec<String>,
    /// Whether plex.tv treats it as "all libraries" (what an empty id list asks for).
    pub all_libraries: bool,
    /// Whether the invitee accepted it.
    pub accepted: bool,
    /// The invitee's settings.
    pub settings: Settings,
    /// The share's `accessToken` (plex.tv lists it with the share; it must never be logged).
    pub access_token: String,
}

/// A sign-in PIN, as the tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// PIN id.
    pub id: u64,
    /// The code shown to the user.
    pub code: String,
    /// `X-Plex-Client-Identifier` it was created with.
    pub client_identifier: String,
    /// `X-Plex-Product` it was created with.
    pub product: String,
    /// Created with `strong=true`.
    pub strong: bool,
    /// Approved by this account.
    pub approved_by: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct ServerRec {
    pub(crate) machine_id: String,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) sections: Vec<Section>,
}

#[derive(Debug, Clone)]
pub(crate) struct ShareRec {
    pub(crate) id: u64,
    pub(crate) machine_id: String,
    pub(crate) user_id: u64,
    pub(crate) section_ids: Vec<u64>,
    pub(crate) all_libraries: bool,
    pub(crate) invited_at: i64,
    /// 0 while pending.
    pub(crate) accepted_at: i64,
    pub(crate) access_token: String,
}

#[derive(Debug, Clone)]
pub(crate) struct PinRec {
    pub(crate) id: u64,
    pub(crate) code: String,
    pub(crate) client_id: String,
    pub(crate) product: String,
    pub(crate) strong: bool,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) expired: bool,
    pub(crate) approved_by: Option<u64>,
}

impl PinRec {
    pub(crate) fn is_live(&self, now: i64) -> bool {
        !self.expired && now < self.expires_at
    }
}

/// Everything the fake knows.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) owner_id: u64,
    pub(crate) accounts: BTreeMap<u64, Account>,
    pub(crate) friends: BTreeSet<u64>,
    pub(crate) home: BTreeSet<u64>,
    /// The owner's servers; the first is the PMS the fake serves.
    pub(crate) servers: Vec<ServerRec>,
    pub(crate) shares: Vec<ShareRec>,
    pub(crate) settings: BTreeMap<u64, Settings>,
    pub(crate) pins: BTreeMap<u64, PinRec>,
    next_id: u64,
}

pub(crate) fn now() -> i64 {
    Utc::now().timestamp()
}

pub(crate) fn token() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

fn hex(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

impl State {
    /// The owner, their PMS with five libraries, and a second server of theirs with two.
    pub(crate) fn seeded() -> Self {
        let mut state = Self {
            owner_id: 0,
            accounts: BTreeMap::new(),
            friends: BTreeSet::new(),
            home: BTreeSet::new(),
            servers: Vec::new(),
            shares: Vec::new(),
            settings: BTreeMap::new(),
            pins: BTreeMap::new(),
            next_id: rand::rng().random_range(1_000_000..2_000_000),
        };
        state.owner_id = state.add_account("owner", "owner@example.com").id;
        let pms = state.server(
            "Fake Plex",
            &[
                ("Movies", "movie"),
                ("TV Shows", "show"),
                ("Music", "artist"),
                ("Photos", "photo"),
                ("Kids", "movie"),
            ],
        );
        let cabin = state.server(
            "Cabin",
            &[("Cabin Movies", "movie"), ("Cabin Shows", "show")],
        );
        state.servers = vec![pms, cabin];
        state
    }

    fn id(&mut self) -> u64 {
        self.next_id += rand::rng().random_range(1..97);
        self.next_id
    }

    fn server(&mut self, name: &str, sections: &[(&str, &str)]) -> ServerRec {
        let sections = sections
            .iter()
            .enumerate()
            .map(|(index, (title, kind))| Section {
                key: (index + 1).to_string(),
                id: self.id(),
                title: (*title).to_owned(),
                kind: (*kind).to_owned(),
            })
            .collect();
        ServerRec {
            machine_id: hex(40),
            name: name.to_owned(),
            version: "1.41.3.9314-a0bfb8370".to_owned(),
            sections,
        }
    }

    pub(crate) fn add_account(&mut self, username: &str, email: &str) -> Account {
        let account = Account {
            id: self.id(),
            uuid: hex(16),
            username: username.to_owned(),
            email: email.to_owned(),
            token: token(),
        };
        self.accounts.insert(account.id, account.clone());
        account
    }

    pub(crate) fn owner(&self) -> Option<&Account> {
        self.accounts.get(&self.owner_id)
    }

    pub(crate) fn pms(&self) -> Option<&ServerRec> {
        self.servers.first()
    }

    pub(crate) fn owned_server(&self, machine_id: &str) -> Option<&ServerRec> {
        self.servers.iter().find(|s| s.machine_id == machine_id)
    }

    pub(crate) fn account_by_token(&self, token: &str) -> Option<&Account> {
        self.accounts
            .values()
            .find(|a| !token.is_empty() && a.token == token)
    }

    /// An account by e-mail or username, case-insensitively (plex.tv's `invited_email`).
    pub(crate) fn account_by_name(&self, name: &str) -> Option<&Account> {
        self.accounts
            .values()
            .find(|a| a.email.eq_ignore_ascii_case(name) || a.username.eq_ignore_ascii_case(name))
    }

    pub(crate) fn settings_of(&self, user_id: u64) -> Settings {
        self.settings.get(&user_id).cloned().unwrap_or_default()
    }

    /// A new pending share.
    pub(crate) fn add_share(
        &mut self,
        machine_id: &str,
        user_id: u64,
        section_ids: Vec<u64>,
        all: bool,
    ) -> u64 {
        let id = self.id();
        self.shares.push(ShareRec {
            id,
            machine_id: machine_id.to_owned(),
            user_id,
            section_ids,
            all_libraries: all,
            invited_at: now(),
            accepted_at: 0,
            access_token: token(),
        });
        id
    }

    /// Accepting makes the invitee a friend (unless they are in the owner's Home).
    pub(crate) fn accept(&mut self, share_id: u64) {
        let mut user = None;
        if let Some(share) = self.shares.iter_mut().find(|s| s.id == share_id) {
            if share.accepted_at == 0 {
                share.accepted_at = now();
            }
            user = Some(share.user_id);
        }
        if let Some(user) = user
            && !self.home.contains(&user)
        {
            self.friends.insert(user);
        }
    }

    pub(crate) fn share_view(&self, share: &ShareRec) -> Share {
        let sections = self
            .owned_server(&share.machine_id)
            .map(|s| s.sections.clone())
            .unwrap_or_default();
        Share {
            id: share.id,
            machine_identifier: share.machine_id.clone(),
            user_id: share.user_id,
            section_ids: share.section_ids.clone(),
            section_keys: share
                .section_ids
                .iter()
                .filter_map(|id| sections.iter().find(|s| s.id == *id).map(|s| s.key.clone()))
                .collect(),
            all_libraries: share.all_libraries,
            accepted: share.accepted_at != 0,
            settings: self.settings_of(share.user_id),
            access_token: share.access_token.clone(),
        }
    }

    pub(crate) fn new_pin(&mut self, client_id: &str, product: &str, strong: bool) -> PinRec {
        let code: String = if strong {
            rand::rng()
                .sample_iter(&Alphanumeric)
                .take(25)
                .map(char::from)
                .collect::<String>()
                .to_lowercase()
        } else {
            rand::rng()
                .sample_iter(&Alphanumeric)
                .take(4)
                .map(char::from)
                .collect::<String>()
                .to_uppercase()
        };
        let created_at = now();
        let pin = PinRec {
            id: self.id(),
            code,
            client_id: client_id.to_owned(),
            product: product.to_owned(),
            strong,
            created_at,
            expires_at: created_at + if strong { 1800 } else { 900 },
            expired: false,
            approved_by: None,
        };
        self.pins.insert(pin.id, pin.clone());
        pin
    }
}

//! The result page and the signed receipt it is rendered from.

use super::*;

/// What a redemption created, signed by the daemon and carried in the result page's URL (so
/// the page needs no per-visitor storage and can be reloaded). It holds no secret: server
/// names, kinds and usernames the invitee just chose or linked.
#[derive(Debug, Serialize, Deserialize)]
pub struct Receipt {
    /// The invitation code.
    c: String,
    /// Accounts: server name, connector id, username.
    a: Vec<(String, String, String)>,
    /// The address members use for each account's server, when the admin gave one (same order
    /// as `a`; absent in receipts made before it existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    d: Vec<Option<String>>,
    /// When access ends.
    e: Option<String>,
    /// Until when the receipt may be shown (ms since the epoch).
    x: i64,
}

/// How long the result page can be reloaded.
const RECEIPT_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

impl Receipt {
    pub(super) fn seal(ctx: &Ctx, code: &str, redeemed: &Redeemed) -> String {
        let receipt = Receipt {
            c: code.to_ascii_lowercase(),
            a: redeemed
                .accounts
                .iter()
                .map(|a| (a.server.clone(), a.kind.clone(), a.username.clone()))
                .collect(),
            d: redeemed
                .accounts
                .iter()
                .map(|a| a.address.clone())
                .collect(),
            e: redeemed.expires_at.clone(),
            x: wizard::now_ms() + RECEIPT_TTL_MS,
        };
        let body = b64().encode(serde_json::to_vec(&receipt).unwrap_or_default());
        let tag = ctx
            .state()
            .security()
            .crypto
            .mac(MacPurpose::JoinReceipt, body.as_bytes());
        format!("{body}.{}", b64().encode(tag))
    }

    pub(super) fn open(ctx: &Ctx, code: &str, sealed: &str) -> Option<Receipt> {
        let (body, tag) = sealed.split_once('.')?;
        let tag = b64().decode(tag).ok()?;
        if !ctx
            .state()
            .security()
            .crypto
            .verify_mac(MacPurpose::JoinReceipt, body.as_bytes(), &tag)
        {
            return None;
        }
        let receipt: Receipt = serde_json::from_slice(&b64().decode(body).ok()?).ok()?;
        (receipt.c == code.to_ascii_lowercase() && receipt.x > wizard::now_ms()).then_some(receipt)
    }
}

/// A created account on the result page.
#[derive(Debug)]
struct AccountView {
    server: String,
    kind_name: String,
    username: String,
    /// How to sign in there (from the catalogue, per connector).
    how: String,
    /// The address members use, when the admin gave one.
    address: Option<String>,
    /// Where to get the apps (the connector's `join-help`).
    apps: Option<String>,
    /// Where to sign in on the web, when it is one place for every server of the kind.
    web: Option<String>,
}

/// The manifest of a loaded connector named by its id or its display name (a redemption's
/// `kind` has been either).
fn manifest_of(state: &AppState, kind: &str) -> Option<crate::plugins::Manifest> {
    state.plugins().manifest(kind).or_else(|| {
        state
            .plugins()
            .ids()
            .into_iter()
            .filter_map(|id| state.plugins().manifest(&id))
            .find(|m| m.name == kind)
    })
}

#[derive(Template)]
#[template(path = "done.html")]
struct DonePage {
    l: Layout,
    t: Tr,
    accounts: Vec<AccountView>,
    expires: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DoneQuery {
    r: Option<String>,
}

/// `GET /j/{code}/done?r=…`: what was created and how to sign in.
pub(super) async fn done_page(
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let Some(receipt) = q.r.as_deref().and_then(|r| Receipt::open(&ctx, &code, r)) else {
        return invalid(&ctx);
    };
    let t = &ctx.t;
    let mut addresses = receipt.d.into_iter();
    let accounts = receipt
        .a
        .into_iter()
        .map(|(server, kind, username)| {
            let address = addresses.next().flatten();
            let manifest = manifest_of(ctx.state(), &kind);
            let kind_name = manifest
                .as_ref()
                .map_or_else(|| kind.clone(), |m| m.name.clone());
            let how = match (manifest.as_ref().map(|m| m.join_flow), &address) {
                (Some(JoinFlow::OauthLink), _) => t.t1("done-how-linked", "kind", &kind_name),
                (_, Some(_)) => t.t1("done-how-address", "kind", &kind_name),
                (_, None) => t.t2(
                    "done-how-credentials",
                    "kind",
                    &kind_name,
                    "server",
                    &server,
                ),
            };
            let help = manifest.map(|m| m.join_help).unwrap_or_default();
            AccountView {
                apps: help.apps_url,
                web: help.web_url,
                address,
                server,
                kind_name,
                username,
                how,
            }
        })
        .collect();
    let page = DonePage {
        l: ctx.layout(t.t("done-title")),
        accounts,
        expires: receipt.e.as_deref().map(|e| t.datetime(e)),
        t: ctx.t.clone(),
    };
    html(StatusCode::OK, &page)
}

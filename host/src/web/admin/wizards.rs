//! The wizard builder: the wizards, a wizard's steps (Markdown with a preview rendered by the
//! server, moved up and down with buttons or dragged with JavaScript), each step's interactions
//! with their typed settings, and "preview as invitee", which walks the join page's own
//! rendering of the wizard without an invitation.
//!
//! Every change goes through [`crate::wizard::builder`], as the JSON API's; refused forms come
//! back with the domain's field errors next to their fields.

use super::invitations::confirm_delete;
use super::*;
use crate::db::{self, wizards::FullStep};
use crate::web::join::{Preview, answers, render_preview};
use crate::wizard::{self, InteractionConfig, builder};
use askama::Template;
use axum::extract::{Path, Query};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The builder's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/wizards", get(list).post(create))
        .route("/admin/wizards/{id}", get(show).post(update))
        .route("/admin/wizards/{id}/delete", get(delete_page).post(delete))
        .route("/admin/wizards/{id}/steps", post(create_step))
        .route(
            "/admin/wizards/{id}/steps/{step}",
            get(step_page).post(update_step),
        )
        .route("/admin/wizards/{id}/steps/{step}/move", post(move_step))
        .route(
            "/admin/wizards/{id}/steps/{step}/delete",
            get(delete_step_page).post(delete_step),
        )
        .route(
            "/admin/wizards/{id}/steps/{step}/interactions",
            post(create_interaction),
        )
        .route(
            "/admin/wizards/{id}/steps/{step}/interactions/{interaction}",
            post(update_interaction),
        )
        .route(
            "/admin/wizards/{id}/steps/{step}/interactions/{interaction}/delete",
            post(delete_interaction),
        )
        .route(
            "/admin/wizards/{id}/preview",
            get(preview).post(preview_submit),
        )
}

/// The interaction types, in the order offered.
const KINDS: [&str; 5] = ["click", "timer", "terms", "text_input", "quiz"];

/// Wizards per list page.
const PER_PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    page: Option<u32>,
    deleted: Option<String>,
}

struct Row {
    href: String,
    name: String,
    description: String,
    enabled: bool,
    steps: i64,
}

#[derive(Template)]
#[template(path = "admin_wizards.html")]
struct ListPage {
    l: Layout,
    t: Tr,
    csrf: String,
    rows: Vec<Row>,
    total: i64,
    pages: Vec<(u32, String, bool)>,
    flash: Option<String>,
    name: String,
    description: String,
    r: Refusal,
}

async fn list_page(
    a: &AdminCtx,
    page: u32,
    flash: Option<String>,
    form: Option<(&Form, Refusal)>,
) -> Response {
    let page = page.max(1);
    let offset = i64::from(page - 1) * i64::from(PER_PAGE);
    let loaded = a
        .state()
        .db()
        .run(move |c| Ok(db::wizards::list(c, i64::from(PER_PAGE), offset)?))
        .await;
    let (items, total) = match loaded {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let t = a.t();
    let (name, description, r, status) = match form {
        Some((f, r)) => (
            f.get("name").to_owned(),
            f.get("description").to_owned(),
            r,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        None => (
            String::new(),
            String::new(),
            Refusal::default(),
            StatusCode::OK,
        ),
    };
    let view = ListPage {
        l: a.layout(t.t("wiz-list-title"), "wizards"),
        t: t.clone(),
        csrf: a.csrf.clone(),
        rows: items
            .into_iter()
            .map(|(w, steps)| Row {
                href: format!("/admin/wizards/{}", w.id),
                name: w.name,
                description: w.description.unwrap_or_default(),
                enabled: w.enabled,
                steps,
            })
            .collect(),
        total,
        pages: pages("/admin/wizards", page, PER_PAGE, total),
        flash,
        name,
        description,
        r,
    };
    html(status, &view)
}

/// `GET /admin/wizards`: the wizards, and a form to start one.
pub(super) async fn list(a: AdminCtx, Query(q): Query<ListQuery>) -> Response {
    let flash = q.deleted.map(|_| a.t().t("wiz-deleted-flash"));
    list_page(&a, q.page.unwrap_or(1), flash, None).await
}

/// `POST /admin/wizards`: a new wizard (name and description), then its page.
pub(super) async fn create(
    a: AdminCtx,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed("/admin/wizards");
    }
    let changes = builder::WizardChanges {
        name: Some(form.get("name").to_owned()),
        description: Some(form.opt("description")),
        enabled: Some(true),
    };
    match builder::create(a.state(), &a.actor(), changes).await {
        Ok(id) => see_other(&format!("/admin/wizards/{id}?created=1")),
        Err(e) => {
            let r = Refusal::from_error(a.t(), &e, str::to_owned);
            list_page(&a, 1, None, Some((&form, r))).await
        }
    }
}

fn not_found(a: &AdminCtx) -> Response {
    message(
        &a.ctx,
        StatusCode::NOT_FOUND,
        "error-not-found-title",
        a.t().t("wiz-not-found"),
        Some(ErrorCode::NotFound.as_str()),
        vec![("/admin/wizards".to_owned(), a.t().t("wiz-list-title"))],
    )
}

/// A wizard with its steps and interactions, and the invitations that use it.
async fn load(
    a: &AdminCtx,
    id: i64,
) -> Option<(db::wizards::Wizard, Vec<FullStep>, Vec<(i64, String)>)> {
    a.state()
        .db()
        .run(move |c| {
            let Some((w, steps)) = db::wizards::full(c, id)? else {
                return Ok(None);
            };
            Ok(Some((w, steps, db::wizards::used_by(c, id, 50)?)))
        })
        .await
        .ok()
        .flatten()
}

struct StepRow {
    id: i64,
    number: usize,
    title: String,
    href: String,
    /// What the invitee does there: the interaction types, in the page's language.
    does: String,
    /// Positions to move to (0-based): up and down, where possible.
    up: Option<usize>,
    down: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ShowQuery {
    created: Option<String>,
    saved: Option<String>,
    previewed: Option<String>,
    /// The step just moved, and which way (its button keeps the focus).
    moved: Option<i64>,
    dir: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_wizard.html")]
struct ShowPage {
    l: Layout,
    t: Tr,
    csrf: String,
    id: i64,
    name: String,
    description: String,
    enabled: bool,
    steps: Vec<StepRow>,
    /// Invitation code and page.
    invitations: Vec<(String, String)>,
    flash: Option<String>,
    moved: Option<(i64, String)>,
    /// The settings form's refusal, and the new step form's.
    r: Refusal,
    step_r: Refusal,
    new_title: String,
    new_content: String,
}

fn kind_label(t: &Tr, kind: &str) -> String {
    t.t(&format!("wiz-kind-{}", kind.replace('_', "-")))
}

/// Render the wizard's page; `settings` or `new_step` carry a refused form.
async fn show_page(
    a: &AdminCtx,
    id: i64,
    q: ShowQuery,
    settings: Option<(&Form, Refusal)>,
    new_step: Option<(&Form, Refusal)>,
) -> Response {
    let Some((w, steps, used)) = load(a, id).await else {
        return not_found(a);
    };
    let t = a.t();
    let count = steps.len();
    let status = if settings.is_some() || new_step.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let flash = if q.created.is_some() {
        Some(t.t("wiz-created-flash"))
    } else if q.saved.is_some() {
        Some(t.t("saved-flash"))
    } else if q.previewed.is_some() {
        Some(t.t("wiz-previewed-flash"))
    } else {
        None
    };
    let (name, description, enabled, r) = match settings {
        Some((f, r)) => (
            f.get("name").to_owned(),
            f.get("description").to_owned(),
            f.checked("enabled"),
            r,
        ),
        None => (
            w.name.clone(),
            w.description.clone().unwrap_or_default(),
            w.enabled,
            Refusal::default(),
        ),
    };
    let (new_title, new_content, step_r) = match new_step {
        Some((f, r)) => (f.get("title").to_owned(), f.get("content").to_owned(), r),
        None => (String::new(), String::new(), Refusal::default()),
    };
    let page = ShowPage {
        l: a.layout(w.name.clone(), "wizards"),
        t: t.clone(),
        csrf: a.csrf.clone(),
        id,
        name,
        description,
        enabled,
        steps: steps
            .iter()
            .enumerate()
            .map(|(n, (s, interactions))| StepRow {
                id: s.id,
                number: n + 1,
                title: s.title.clone(),
                href: format!("/admin/wizards/{id}/steps/{}", s.id),
                does: if interactions.is_empty() {
                    t.t("wiz-kind-none")
                } else {
                    interactions
                        .iter()
                        .map(|i| kind_label(t, i.config.kind()))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                up: n.checked_sub(1),
                down: (n + 1 < count).then_some(n + 1),
            })
            .collect(),
        invitations: used
            .into_iter()
            .map(|(iid, code)| (code, format!("/admin/invitations/{iid}")))
            .collect(),
        flash,
        moved: q.moved.zip(q.dir),
        r,
        step_r,
        new_title,
        new_content,
    };
    html(status, &page)
}

/// `GET /admin/wizards/{id}`.
pub(super) async fn show(a: AdminCtx, Path(id): Path<i64>, Query(q): Query<ShowQuery>) -> Response {
    show_page(&a, id, q, None, None).await
}

/// `POST /admin/wizards/{id}`: name, description, shown to invitees or not.
pub(super) async fn update(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed(&format!("/admin/wizards/{id}"));
    }
    let changes = builder::WizardChanges {
        name: Some(form.get("name").to_owned()),
        description: Some(form.opt("description")),
        enabled: Some(form.checked("enabled")),
    };
    match builder::update(a.state(), &a.actor(), id, changes).await {
        Ok(()) => see_other(&format!("/admin/wizards/{id}?saved=1")),
        Err(e) if e.code() == ErrorCode::NotFound => not_found(&a),
        Err(e) => {
            let r = Refusal::from_error(a.t(), &e, str::to_owned);
            show_page(&a, id, ShowQuery::default(), Some((&form, r)), None).await
        }
    }
}

/// `GET /admin/wizards/{id}/delete`: what deleting means, and the button.
pub(super) async fn delete_page(a: AdminCtx, Path(id): Path<i64>) -> Response {
    let Some((w, _, used)) = load(&a, id).await else {
        return not_found(&a);
    };
    let t = a.t();
    confirm_delete(
        &a,
        "wizards",
        t.t1("wiz-delete-title", "name", &w.name),
        t.n("wiz-delete-text", "count", used.len() as i64),
        format!("/admin/wizards/{id}/delete"),
        format!("/admin/wizards/{id}"),
    )
}

/// `POST /admin/wizards/{id}/delete`.
pub(super) async fn delete(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed(&format!("/admin/wizards/{id}/delete"));
    }
    match builder::delete(a.state(), &a.actor(), id).await {
        Ok(()) => see_other("/admin/wizards?deleted=1"),
        Err(e) if e.code() == ErrorCode::NotFound => not_found(&a),
        Err(e) => e.into_response(),
    }
}

/// `POST /admin/wizards/{id}/steps`: a new step at the end, then its page (to add what the
/// invitee does there).
pub(super) async fn create_step(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed(&format!("/admin/wizards/{id}"));
    }
    let changes = builder::StepChanges {
        title: Some(form.get("title").to_owned()),
        content: Some(form.get("content").to_owned()),
        position: None,
    };
    match builder::create_step(a.state(), &a.actor(), id, changes).await {
        Ok(step) => see_other(&format!("/admin/wizards/{id}/steps/{step}?created=1")),
        Err(e) if e.code() == ErrorCode::NotFound => not_found(&a),
        Err(e) => {
            let r = Refusal::from_error(a.t(), &e, str::to_owned);
            show_page(&a, id, ShowQuery::default(), None, Some((&form, r))).await
        }
    }
}

/// `POST /admin/wizards/{id}/steps/{step}/move`: `position` (0-based) from the up and down
/// buttons, or from a drag and drop.
pub(super) async fn move_step(
    a: AdminCtx,
    Path((id, step)): Path<(i64, i64)>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed(&format!("/admin/wizards/{id}"));
    }
    let Ok(position) = form.get("position").parse::<i64>() else {
        return see_other(&format!("/admin/wizards/{id}"));
    };
    let dir = match form.get("dir") {
        "up" => "up",
        "down" => "down",
        _ => "drag",
    };
    match builder::move_step(a.state(), &a.actor(), id, step, position).await {
        // No `#step-…` fragment: going to a fragment moves the focus to it, after the script
        // has put it back on the pressed button.
        Ok(()) => see_other(&format!("/admin/wizards/{id}?moved={step}&dir={dir}")),
        Err(e) if e.code() == ErrorCode::NotFound => not_found(&a),
        Err(e) => e.into_response(),
    }
}

/// An interaction's settings as the form shows them.
struct InteractionForm {
    /// `0` for the "add" form.
    id: i64,
    /// Prefix of the form's field ids (unique on the page).
    prefix: String,
    kind: &'static str,
    kind_label: String,
    action: String,
    button_text: String,
    duration_seconds: String,
    label: String,
    placeholder: String,
    required: bool,
    min_length: String,
    max_length: String,
    question: String,
    /// One option per line.
    options: String,
    /// 1-based number of the right option.
    correct: String,
    r: Refusal,
}

impl InteractionForm {
    fn empty(t: &Tr, kind: &'static str, prefix: String, action: String) -> InteractionForm {
        InteractionForm {
            id: 0,
            prefix,
            kind,
            kind_label: kind_label(t, kind),
            action,
            button_text: String::new(),
            duration_seconds: String::new(),
            label: String::new(),
            placeholder: String::new(),
            required: true,
            min_length: String::new(),
            max_length: String::new(),
            question: String::new(),
            options: String::new(),
            correct: String::new(),
            r: Refusal::default(),
        }
    }

    fn of(t: &Tr, wizard: i64, step: i64, id: i64, config: &InteractionConfig) -> InteractionForm {
        let kind = kind_of(config.kind());
        let mut f = InteractionForm::empty(
            t,
            kind,
            format!("i{id}"),
            format!("/admin/wizards/{wizard}/steps/{step}/interactions/{id}"),
        );
        f.id = id;
        let num = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
        match config {
            InteractionConfig::Click { button_text } => f.button_text = button_text.clone(),
            InteractionConfig::Timer { duration_seconds } => {
                f.duration_seconds = duration_seconds.to_string();
            }
            InteractionConfig::Terms { label } => f.label = label.clone(),
            InteractionConfig::TextInput {
                label,
                placeholder,
                required,
                min_length,
                max_length,
            } => {
                f.label = label.clone();
                f.placeholder = placeholder.clone().unwrap_or_default();
                f.required = *required;
                f.min_length = num(*min_length);
                f.max_length = num(*max_length);
            }
            InteractionConfig::Quiz {
                question,
                options,
                correct_index,
            } => {
                f.question = question.clone();
                f.options = options.join("\n");
                f.correct = (correct_index + 1).to_string();
            }
        }
        f
    }

    /// The values a refused form was sent with.
    fn refill(mut self, form: &Form, r: Refusal) -> InteractionForm {
        self.button_text = form.get("button_text").to_owned();
        self.duration_seconds = form.get("duration_seconds").to_owned();
        self.label = form.get("label").to_owned();
        self.placeholder = form.get("placeholder").to_owned();
        self.required = form.checked("required");
        self.min_length = form.get("min_length").to_owned();
        self.max_length = form.get("max_length").to_owned();
        self.question = form.get("question").to_owned();
        self.options = form.get("options").to_owned();
        self.correct = form.get("correct").to_owned();
        self.r = r;
        self
    }
}

/// A known interaction type as a `'static` name (`click` for anything else).
fn kind_of(kind: &str) -> &'static str {
    KINDS
        .iter()
        .copied()
        .find(|k| *k == kind)
        .unwrap_or("click")
}

/// The settings of an interaction form as the domain takes them. Blank optional fields are
/// left out on create and reset (`null`) on update; a number that does not parse is passed on
/// as text, so the domain's rule answers it.
fn settings_of(kind: &str, form: &Form, update: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), Value::from(kind));
    let text = |m: &mut Map<String, Value>, key: &str| match form.opt(key) {
        Some(v) => {
            m.insert(key.into(), Value::String(v));
        }
        None if update => {
            m.insert(key.into(), Value::Null);
        }
        None => {}
    };
    let number = |m: &mut Map<String, Value>, key: &str, raw: Option<String>, shift: i64| match raw
    {
        Some(v) => {
            let value = v
                .parse::<i64>()
                .map_or_else(|_| Value::String(v.clone()), |n| Value::from(n - shift));
            m.insert(key.into(), value);
        }
        None if update => {
            m.insert(key.into(), Value::Null);
        }
        None => {}
    };
    match kind {
        "click" => text(&mut m, "button_text"),
        "timer" => number(&mut m, "duration_seconds", form.opt("duration_seconds"), 0),
        "terms" => text(&mut m, "label"),
        "text_input" => {
            text(&mut m, "label");
            text(&mut m, "placeholder");
            m.insert("required".into(), Value::Bool(form.checked("required")));
            number(&mut m, "min_length", form.opt("min_length"), 0);
            number(&mut m, "max_length", form.opt("max_length"), 0);
        }
        _ => {
            text(&mut m, "question");
            let options: Vec<Value> = form
                .get("options")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(Value::from)
                .collect();
            m.insert("options".into(), Value::Array(options));
            number(&mut m, "correct_index", form.opt("correct"), 1);
        }
    }
    m
}

/// The domain's field names as the interaction form's.
fn form_field(field: &str) -> String {
    match field {
        "correct_index" => "correct".to_owned(),
        f if f.starts_with("options[") => "options".to_owned(),
        f => f.to_owned(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct StepQuery {
    created: Option<String>,
    saved: Option<String>,
    /// The type of the "add" form.
    add: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_wizard_step.html")]
struct StepPage {
    l: Layout,
    t: Tr,
    csrf: String,
    wizard_id: i64,
    wizard_name: String,
    id: i64,
    title: String,
    content: String,
    /// The content as the invitee will see it (op=preview).
    rendered: Option<String>,
    flash: Option<String>,
    r: Refusal,
    interactions: Vec<InteractionForm>,
    /// The "add" form (one).
    add: Vec<InteractionForm>,
    /// Type, label, selected (for the "add" form's type chooser).
    kinds: Vec<(&'static str, String, bool)>,
    max_content: usize,
}

/// What a step page shows in place of the stored values.
#[derive(Default)]
struct StepOverride<'a> {
    /// The step form as sent (a refusal or a preview).
    step: Option<(&'a Form, Refusal)>,
    rendered: Option<String>,
    /// A refused interaction form: its id (0 = the "add" form), what was sent, the refusal.
    interaction: Option<(i64, &'a Form, Refusal)>,
}

async fn render_step_page(
    a: &AdminCtx,
    id: i64,
    step: i64,
    q: StepQuery,
    o: StepOverride<'_>,
) -> Response {
    let Some((w, steps, _)) = load(a, id).await else {
        return not_found(a);
    };
    let Some((index, (s, interactions))) =
        steps.iter().enumerate().find(|(_, (s, _))| s.id == step)
    else {
        return not_found(a);
    };
    let t = a.t();
    let refused = o.step.as_ref().is_some_and(|(_, r)| r.code.is_some()) || o.interaction.is_some();
    let (title, content, r) = match o.step {
        Some((f, r)) => (f.get("title").to_owned(), f.get("content").to_owned(), r),
        None => (s.title.clone(), s.content.clone(), Refusal::default()),
    };
    let add_kind = o
        .interaction
        .as_ref()
        .filter(|(iid, _, _)| *iid == 0)
        .map(|(_, f, _)| f.get("type").to_owned())
        .or(q.add)
        .map_or("click", |k| kind_of(&k));
    let mut add = InteractionForm::empty(
        t,
        add_kind,
        "new".to_owned(),
        format!("/admin/wizards/{id}/steps/{step}/interactions"),
    );
    let mut forms: Vec<InteractionForm> = interactions
        .iter()
        .map(|i| InteractionForm::of(t, id, step, i.id, &i.config))
        .collect();
    if let Some((iid, f, r)) = o.interaction {
        if iid == 0 {
            add = add.refill(f, r);
        } else if let Some(slot) = forms.iter_mut().find(|x| x.id == iid) {
            let taken = std::mem::replace(
                slot,
                InteractionForm::empty(t, "click", String::new(), String::new()),
            );
            *slot = taken.refill(f, r);
        }
    }
    let flash = if q.created.is_some() {
        Some(t.t("wiz-step-created-flash"))
    } else {
        q.saved.map(|_| t.t("saved-flash"))
    };
    let page = StepPage {
        l: a.layout(
            t.t2(
                "wiz-step-title",
                "number",
                &(index + 1).to_string(),
                "name",
                &w.name,
            ),
            "wizards",
        ),
        t: t.clone(),
        csrf: a.csrf.clone(),
        wizard_id: id,
        wizard_name: w.name.clone(),
        id: step,
        title,
        content,
        rendered: o.rendered,
        flash,
        r,
        interactions: forms,
        kinds: KINDS
            .iter()
            .map(|k| (*k, kind_label(t, k), *k == add_kind))
            .collect(),
        add: vec![add],
        max_content: wizard::MAX_CONTENT_CHARS,
    };
    let status = if refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    html(status, &page)
}

/// `GET /admin/wizards/{id}/steps/{step}[?add=<type>]`.
pub(super) async fn step_page(
    a: AdminCtx,
    Path((id, step)): Path<(i64, i64)>,
    Query(q): Query<StepQuery>,
) -> Response {
    render_step_page(&a, id, step, q, StepOverride::default()).await
}

/// `POST /admin/wizards/{id}/steps/{step}`: save title and content, or (`op=preview`) show the
/// content as the invitee will see it without saving.
pub(super) async fn update_step(
    a: AdminCtx,
    Path((id, step)): Path<(i64, i64)>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    let back = format!("/admin/wizards/{id}/steps/{step}");
    if !a.form_ok(&form) {
        return a.csrf_failed(&back);
    }
    if form.get("op") == "preview" {
        let rendered = wizard::render_markdown(form.get("content"));
        let o = StepOverride {
            step: Some((&form, Refusal::default())),
            rendered: Some(rendered),
            interaction: None,
        };
        return render_step_page(&a, id, step, StepQuery::default(), o).await;
    }
    let changes = builder::StepChanges {
        title: Some(form.get("title").to_owned()),
        content: Some(form.get("content").to_owned()),
        position: None,
    };
    match builder::update_step(a.state(), &a.actor(), id, step, changes).await {
        Ok(()) => see_other(&format!("{back}?saved=1")),
        Err(e) if e.code() == ErrorCode::NotFound => not_found(&a),
        Err(e) => {
            let o = StepOverride {
                step: Some((&form, Refusal::from_error(a.t(), &e, str::to_owned))),
                ..StepOverride::default()
            };
            render_step_page(&a, id, step, StepQuery::default(), o).await
        }
    }
}

/// `GET /admin/wizards/{id}/steps/{step}/delete`.
pub(super) async fn delete_step_page(a: AdminCtx, Path((id, step)): Path<(i64, i64)>) -> Response {
    let Some((_, steps, _)) = load(&a, id).await else {
        return not_found(&a);
    };
    let Some((s, _)) = steps.iter().find(|(s, _)| s.id == step) else {
        return not_found(&a);
    };
    let t = a.t();
    confirm_delete(
        &a,
        "wizards",
        t.t1("wiz-step-delete-title", "title", &s.title),
        t.t("wiz-step-delete-text"),
        format!("/admin/wizards/{id}/steps/{step}/delete"),
        format!("/admin/wizards/{id}/steps/{step}"),
    )
}

/// `POST /admin/wizards/{id}/steps/{step}/delete`.
pub(super) async fn delete_step(
    a: AdminCtx,
    Path((id, step)): Path<(i64, i64)>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed(&format!("/admin/wizards/{id}/steps/{step}/delete"));
    }
    match builder::delete_step(a.state(), &a.actor(), id, step).await {
        Ok(()) => see_other(&format!("/admin/wizards/{id}?saved=1")),
        Err(e) if e.code() == ErrorCode::NotFound => not_found(&a),
        Err(e) => e.into_response(),
    }
}

/// A refused interaction form: the step page with its errors.
async fn interaction_refused(
    a: &AdminCtx,
    (id, step, interaction): (i64, i64, i64),
    form: &Form,
    e: &Error,
) -> Response {
    if e.code() == ErrorCode::NotFound {
        return not_found(a);
    }
    let r = Refusal::from_error(a.t(), e, form_field);
    let o = StepOverride {
        interaction: Some((interaction, form, r)),
        ..StepOverride::default()
    };
    render_step_page(a, id, step, StepQuery::default(), o).await
}

/// `POST /admin/wizards/{id}/steps/{step}/interactions`: add one (`type` and its settings).
pub(super) async fn create_interaction(
    a: AdminCtx,
    Path((id, step)): Path<(i64, i64)>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    let back = format!("/admin/wizards/{id}/steps/{step}");
    if !a.form_ok(&form) {
        return a.csrf_failed(&back);
    }
    let kind = kind_of(form.get("type"));
    // Choosing another type (the chooser's own button, without JavaScript) shows its settings.
    if form.get("op") == "choose" {
        return see_other(&format!("{back}?add={kind}#add-interaction"));
    }
    let settings = settings_of(kind, &form, false);
    match builder::create_interaction(a.state(), &a.actor(), id, step, settings).await {
        Ok(_) => see_other(&format!("{back}?saved=1#interactions")),
        Err(e) => interaction_refused(&a, (id, step, 0), &form, &e).await,
    }
}

/// `POST /admin/wizards/{id}/steps/{step}/interactions/{interaction}`: change its settings.
pub(super) async fn update_interaction(
    a: AdminCtx,
    Path((id, step, interaction)): Path<(i64, i64, i64)>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    let back = format!("/admin/wizards/{id}/steps/{step}");
    if !a.form_ok(&form) {
        return a.csrf_failed(&back);
    }
    let settings = settings_of(kind_of(form.get("type")), &form, true);
    match builder::update_interaction(a.state(), &a.actor(), id, step, interaction, settings).await
    {
        Ok(()) => see_other(&format!("{back}?saved=1#interaction-{interaction}")),
        Err(e) => interaction_refused(&a, (id, step, interaction), &form, &e).await,
    }
}

/// `POST /admin/wizards/{id}/steps/{step}/interactions/{interaction}/delete`.
pub(super) async fn delete_interaction(
    a: AdminCtx,
    Path((id, step, interaction)): Path<(i64, i64, i64)>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    let back = format!("/admin/wizards/{id}/steps/{step}");
    if !a.form_ok(&form) {
        return a.csrf_failed(&back);
    }
    match builder::delete_interaction(a.state(), &a.actor(), id, step, interaction).await {
        Ok(()) => see_other(&format!("{back}?saved=1#interactions")),
        Err(e) if e.code() == ErrorCode::NotFound => not_found(&a),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PreviewQuery {
    /// 0-based step.
    step: Option<usize>,
    /// When the step was shown (ms since the epoch): its timers run from then.
    since: Option<i64>,
}

/// The wizard as an invitee sees it, and its steps as stored (for the checks).
async fn load_preview(a: &AdminCtx, id: i64) -> Option<(wizard::PublicWizard, Vec<FullStep>)> {
    let (w, steps, _) = load(a, id).await?;
    Some((wizard::preview((w, steps.clone())), steps))
}

fn preview_action(id: i64) -> String {
    format!("/admin/wizards/{id}/preview")
}

/// `GET /admin/wizards/{id}/preview?step=&since=`: a step of the wizard exactly as the join
/// page shows it, with a banner saying it is a preview. No invitation is used; nothing is kept.
pub(super) async fn preview(
    a: AdminCtx,
    Path(id): Path<i64>,
    Query(q): Query<PreviewQuery>,
) -> Response {
    let Some((public, _)) = load_preview(&a, id).await else {
        return not_found(&a);
    };
    let index = q.step.unwrap_or(0);
    let since = q.since.unwrap_or_else(wizard::now_ms);
    let p = Preview {
        wizard: &public,
        index,
        since_ms: since,
        action: preview_action(id),
        csrf: a.csrf.clone(),
        form: BTreeMap::new(),
        errors: Vec::new(),
        notice: None,
        error_code: None,
    };
    render_preview(&a.ctx, StatusCode::OK, p).unwrap_or_else(|| {
        message(
            &a.ctx,
            StatusCode::NOT_FOUND,
            "wiz-preview-empty-title",
            a.t().t("wiz-preview-empty"),
            None,
            vec![(format!("/admin/wizards/{id}"), a.t().t("back"))],
        )
    })
}

/// `POST /admin/wizards/{id}/preview`: the step's answers checked as the join page checks them
/// (timers from when the step was shown, then the answers); on to the next step, or back to the
/// wizard after the last.
pub(super) async fn preview_submit(
    a: AdminCtx,
    Path(id): Path<i64>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let form = Form(pairs);
    if !a.form_ok(&form) {
        return a.csrf_failed(&preview_action(id));
    }
    let Some((public, steps)) = load_preview(&a, id).await else {
        return not_found(&a);
    };
    let step_id: i64 = form.get("step").parse().unwrap_or(-1);
    let Some(index) = public.steps.iter().position(|s| s.id == step_id) else {
        // The wizard changed under the preview: start again.
        return see_other(&preview_action(id));
    };
    let since: i64 = form.get("t").parse().unwrap_or_else(|_| wizard::now_ms());
    let map: BTreeMap<String, String> = form.0.iter().cloned().collect();
    let given = answers(&public.steps[index], &map);
    let interactions = &steps[index].1;
    let now = wizard::now_ms();
    let result = wizard::check_timers(interactions, since, now).and_then(|()| {
        let problems = wizard::check_answers(interactions, &given);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid(problems))
        }
    });
    let (notice, errors, code) = match result {
        Ok(()) if index + 1 < public.steps.len() => {
            return see_other(&format!(
                "{}?step={}&since={now}",
                preview_action(id),
                index + 1
            ));
        }
        Ok(()) => return see_other(&format!("/admin/wizards/{id}?previewed=1")),
        Err(Error::Client {
            code: ErrorCode::WizardTimerRunning,
            retry_after,
            ..
        }) => (
            a.t()
                .n("wizard-wait", "seconds", retry_after.unwrap_or(1) as i64),
            Vec::new(),
            ErrorCode::WizardTimerRunning,
        ),
        Err(Error::Client { fields, .. }) => (
            a.t().t("form-has-errors"),
            fields,
            ErrorCode::ValidationFailed,
        ),
        Err(e) => return e.into_response(),
    };
    let p = Preview {
        wizard: &public,
        index,
        since_ms: since,
        action: preview_action(id),
        csrf: a.csrf.clone(),
        form: map,
        errors,
        notice: Some(notice),
        error_code: Some(code.as_str()),
    };
    render_preview(&a.ctx, StatusCode::UNPROCESSABLE_ENTITY, p)
        .unwrap_or_else(|| see_other(&preview_action(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn interaction_forms_become_the_domains_settings() {
        let quiz = form(&[
            ("question", " Which? "),
            ("options", "A\n\n B \nC"),
            ("correct", "2"),
        ]);
        let s = settings_of("quiz", &quiz, false);
        assert_eq!(
            Value::Object(s.clone()),
            serde_json::json!({"type": "quiz", "question": "Which?", "options": ["A", "B", "C"], "correct_index": 1})
        );
        assert!(wizard::parse_config(&s).is_ok());
        // A number that does not parse reaches the domain's rule as it was typed.
        let s = settings_of("timer", &form(&[("duration_seconds", "soon")]), false);
        let errors = wizard::parse_config(&s).unwrap_err();
        assert_eq!(errors[0].field, "duration_seconds", "{errors:?}");
        // Blank optional fields reset on update, and are left out on create.
        let text = form(&[("label", "Name"), ("required", "true")]);
        let s = settings_of("text_input", &text, true);
        assert_eq!(s["placeholder"], Value::Null);
        assert_eq!(s["required"], true);
        assert!(!settings_of("text_input", &text, false).contains_key("placeholder"));
        assert_eq!(form_field("options[3]"), "options");
        assert_eq!(form_field("correct_index"), "correct");
    }
}

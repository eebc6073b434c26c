//! The permission matrix, generated from the route table (the OpenAPI document): every
//! operation × every kind of caller (nobody, a plain manager, a manager with each right, a
//! chats administrator, a system administrator, the module, another module) × every kind of
//! dialog (the caller's own, another's, unassigned, deleted, held by a bot). What each cell must
//! answer is written as rules below, not copied from the output. Every refused cell is sent and
//! must change nothing; an allowed read is sent too and must show only what the caller may see.
//! Allowed writes are left to the feature tests (they would change the fixtures).

use crate::common::client::Caller;
use crate::common::{ADMIN_EMAIL, PASSWORD, TestApp};
use beseda_core::dialog::Responsible;
use beseda_core::ids::{BotId, DialogId};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

on_both_backends!(no_cell_of_the_matrix_leaks);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Who {
    Nobody,
    Plain,
    ViewAll,
    Deleter,
    Settings,
    ChatsAdmin,
    SystemAdmin,
    Module,
    OtherModule,
}

const CALLERS: [Who; 9] = [
    Who::Nobody,
    Who::Plain,
    Who::ViewAll,
    Who::Deleter,
    Who::Settings,
    Who::ChatsAdmin,
    Who::SystemAdmin,
    Who::Module,
    Who::OtherModule,
];

/// The managers' rights, as `Permissions::new` resolves them.
#[derive(Clone, Copy, Default)]
struct Rights {
    view_all: bool,
    delete: bool,
    settings: bool,
}

impl Who {
    fn manager(self) -> Option<(&'static str, Value, bool)> {
        let grants = |g: Value| Some(g);
        let (email, g, admin) = match self {
            Who::Plain => ("plain@example.com", grants(json!({})), false),
            Who::ViewAll => (
                "viewer@example.com",
                grants(json!({"view_all_dialogs": true})),
                false,
            ),
            Who::Deleter => (
                "deleter@example.com",
                grants(json!({"delete_dialogs": true})),
                false,
            ),
            Who::Settings => (
                "settings@example.com",
                grants(json!({"manage_settings": true})),
                false,
            ),
            Who::ChatsAdmin => (
                "chats@example.com",
                grants(json!({"chats_admin": true})),
                false,
            ),
            Who::SystemAdmin => (ADMIN_EMAIL, None, true),
            _ => return None,
        };
        Some((email, g.unwrap_or(json!({})), admin))
    }

    fn rights(self) -> Rights {
        let chats = matches!(self, Who::ChatsAdmin | Who::SystemAdmin);
        Rights {
            view_all: chats || self == Who::ViewAll,
            delete: chats || self == Who::Deleter,
            settings: self == Who::SystemAdmin || self == Who::Settings,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum State {
    Own,
    Anothers,
    Unassigned,
    Deleted,
    BotHeld,
}

const STATES: [State; 5] = [
    State::Own,
    State::Anothers,
    State::Unassigned,
    State::Deleted,
    State::BotHeld,
];

/// What a cell must answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// 401: no credential this API takes.
    Unauthenticated,
    /// 403 (or refused before, 4xx): no right.
    Forbidden,
    /// 404 (or refused before, 4xx), never 403: the caller may not know it exists.
    Hidden,
    /// A read the caller may make: 2xx, showing only what the caller may see.
    Read,
    /// A write the caller may make: not sent here.
    Write,
}

/// How an operation is guarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Guard {
    Public,
    /// The transport API: the module's token; its channels only.
    Transport {
        channel_scoped: bool,
    },
    /// About one dialog (its messages, files, client card): visibility (F33).
    Dialog,
    /// Deleting dialogs (F19): the right to delete, then visibility.
    DeleteDialogs,
    /// The company's settings: managers, groups, tags, modules, time limits, shared replies.
    Settings,
    /// Any signed-in manager (their own data, lists filtered by visibility).
    Manager,
    /// The website visitor API: a visitor's token, which no manager or module holds.
    Visitor,
    /// A platform's webhook handshake: its verify token, which no caller here brings.
    Handshake,
}

fn guard(method: &str, path: &str) -> Guard {
    let write = method != "GET";
    match path {
        "/healthz" | "/readyz" | "/api/v1/auth/login" | "/api/v1/auth/logout" => Guard::Public,
        // The widget's public face: its look, and starting a visitor session with the key.
        "/api/widget/v1/{key}/config" | "/api/widget/v1/{key}/sessions" => Guard::Public,
        // A platform's webhook: its secret, checked by the connector.
        "/hooks/{kind}/{key}" => Guard::Public,
        "/hooks/meta" if write => Guard::Public,
        "/hooks/meta" => Guard::Handshake,
        p if p.starts_with("/api/widget/") => Guard::Visitor,
        // The bot API: a bot's token, which no manager or module holds.
        p if p.starts_with("/api/bot/") => Guard::Visitor,
        p if p.starts_with("/api/transport/") => Guard::Transport {
            channel_scoped: p != "/api/transport/v1/channels",
        },
        "/api/v1/dialogs/delete" => Guard::DeleteDialogs,
        p if p.starts_with("/api/v1/dialogs/{id}")
            || p.starts_with("/api/v1/attachments/{id}")
            || p == "/api/v1/clients/{id}"
            || p == "/api/v1/clients/{id}/photo"
            || (p == "/api/v1/clients/{id}/tags" && !write)
            // An order is seen and changed by whoever sees its client's dialog.
            || p.starts_with("/api/v1/orders") =>
        {
            Guard::Dialog
        }
        p if p.starts_with("/api/v1/groups")
            || p.starts_with("/api/v1/transport-modules")
            || p.starts_with("/api/v1/widgets")
            || p.starts_with("/api/v1/connectors")
            || (p.starts_with("/api/v1/bots") && write)
            || p == "/api/v1/settings/distribution"
            || (p.starts_with("/api/v1/managers") && (write || p != "/api/v1/managers"))
            || (p.starts_with("/api/v1/tags") && write)
            || (p.starts_with("/api/v1/settings/") && write)
            || (p == "/api/v1/quick-replies" && method == "POST")
            || (p.starts_with("/api/v1/quick-replies/{id}") && write) =>
        {
            Guard::Settings
        }
        // Putting a tag on a client is a chats action on a client one sees.
        p if p.starts_with("/api/v1/clients/{id}/tags/") => Guard::Dialog,
        _ => Guard::Manager,
    }
}

/// The rule of one cell.
fn expect(method: &str, path: &str, who: Who, state: Option<State>) -> Expect {
    let g = guard(method, path);
    let read = method == "GET";
    let allowed = if read { Expect::Read } else { Expect::Write };
    let module = matches!(who, Who::Module | Who::OtherModule);
    match g {
        Guard::Public if read => Expect::Read,
        Guard::Public => Expect::Write,
        Guard::Visitor => Expect::Unauthenticated,
        Guard::Handshake => Expect::Forbidden,
        Guard::Transport { channel_scoped } => match who {
            Who::Module => allowed,
            Who::OtherModule if channel_scoped => Expect::Hidden,
            Who::OtherModule => allowed,
            _ => Expect::Unauthenticated,
        },
        _ if who == Who::Nobody || module => Expect::Unauthenticated,
        Guard::Settings if !who.rights().settings => Expect::Forbidden,
        Guard::Settings | Guard::Manager => allowed,
        Guard::DeleteDialogs if !who.rights().delete => Expect::Forbidden,
        Guard::Dialog | Guard::DeleteDialogs => {
            let sees = match state.expect("a dialog cell") {
                State::Deleted => false,
                State::Own | State::Unassigned => true,
                State::Anothers | State::BotHeld => who.rights().view_all,
            };
            if sees { allowed } else { Expect::Hidden }
        }
    }
}

/// What the fixtures hold, to fill the paths and bodies.
struct World {
    /// Per caller, per state: a dialog, its client, a file sent in it.
    dialogs: HashMap<(Who, State), (i64, i64, i64)>,
    channel: i64,
    other_module: i64,
    tag: i64,
    group: i64,
    quick_reply: i64,
    target_manager: i64,
    target_token: i64,
    /// A website widget's public key.
    widget_key: String,
    /// Per client, an order of theirs.
    orders: HashMap<i64, i64>,
    bot: i64,
}

/// The dialog (its client, its file) a cell is about: the caller's own of that kind; for
/// those who have none (nobody, modules) and cells about no dialog, the administrator's.
fn cell_dialog(w: &World, who: Who, state: Option<State>) -> (i64, i64, i64) {
    let owner = match state {
        Some(s) if w.dialogs.contains_key(&(who, s)) => who,
        _ => Who::SystemAdmin,
    };
    w.dialogs[&(owner, state.unwrap_or(State::Own))]
}

fn fill(path: &str, w: &World, who: Who, state: Option<State>) -> String {
    let (dialog, client, file) = cell_dialog(w, who, state);
    let id = match path {
        "/api/v1/orders/{id}" => w.orders.get(&client).copied().unwrap_or(999_999),
        p if p.starts_with("/api/v1/dialogs/") => dialog,
        p if p.starts_with("/api/v1/attachments/") || p == "/api/transport/v1/attachments/{id}" => {
            file
        }
        p if p.starts_with("/api/v1/clients/") => client,
        p if p.starts_with("/api/v1/groups/") => w.group,
        p if p.starts_with("/api/v1/tags/") => w.tag,
        p if p.starts_with("/api/v1/quick-replies/") => w.quick_reply,
        p if p.starts_with("/api/v1/managers/") => w.target_manager,
        p if p.starts_with("/api/v1/transport-modules/") => w.other_module,
        p if p.starts_with("/api/v1/bots/") => w.bot,
        p if p.starts_with("/api/widget/") => file,
        p if p.starts_with("/api/v1/me/tokens/") => 999_999,
        _ => w.channel,
    };
    // The query a read needs.
    let query = match path {
        "/api/v1/dialogs/{id}/attachments" => "?tab=images",
        "/api/v1/search" => "?q=Hello",
        _ => "",
    };
    let query = match path {
        "/api/v1/orders" => format!("?client_id={client}"),
        _ => query.to_owned(),
    };
    path.replace("{id}", &id.to_string())
        .replace("{attachment_id}", &file.to_string())
        .replace("{tag_id}", &w.tag.to_string())
        .replace("{token_id}", &w.target_token.to_string())
        .replace("{key}", &w.widget_key)
        + &query
}

fn body(method: &str, path: &str, w: &World, (dialog, client): (i64, i64)) -> Option<Value> {
    if method == "GET" {
        return None;
    }
    let ch = w.channel;
    Some(match path {
        "/api/v1/dialogs/delete" => json!({"ids": [dialog]}),
        "/api/v1/orders" => json!({"client_id": client, "currency": "RUB"}),
        p if p.starts_with("/api/v1/orders/") => json!({"status": "taken"}),
        p if p.ends_with("/messages") && p.starts_with("/api/v1/") => json!({"body": "hi"}),
        p if p.ends_with("/assign") => json!({"to": null}),
        p if p.ends_with("/draft") => json!({"body": "draft"}),
        p if p.starts_with("/api/v1/clients/") => json!({"pinned": false}),
        "/api/v1/tags" => json!({"name": "New tag", "color": "red"}),
        p if p.starts_with("/api/v1/tags/") => json!({"name": "Renamed"}),
        "/api/v1/quick-replies" => json!({"title": "Shared", "body": "For all", "shared": true}),
        p if p.starts_with("/api/v1/quick-replies/") => json!({"title": "Renamed"}),
        "/api/v1/groups" => json!({"name": "Another group"}),
        p if p.ends_with("/members") => json!({"members": []}),
        p if p.starts_with("/api/v1/groups/") => json!({"name": "Renamed group"}),
        "/api/v1/managers" => {
            json!({"email": "new@example.com", "name": "New", "password": "long enough password"})
        }
        p if p.ends_with("/password") => json!({"password": "another long password"}),
        p if p.starts_with("/api/v1/managers/") => json!({"name": "Renamed"}),
        "/api/v1/transport-modules" => json!({"name": "M", "webhook_url": "https://m.example/h"}),
        "/api/transport/v1/channels" => json!({"type": "telegram", "name": "X"}),
        p if p.starts_with("/api/transport/v1/channels/") => json!({"name": "Renamed"}),
        "/api/transport/v1/messages" if method == "POST" => {
            json!({"channel_id": ch, "customer": {"external_id": "matrix"}, "external_id": "matrix-1", "text": "t"})
        }
        "/api/transport/v1/messages" => {
            json!({"channel_id": ch, "external_id": "own-0", "text": "edited"})
        }
        "/api/transport/v1/messages/status" => {
            json!({"channel_id": ch, "external_id": "none", "status": "read"})
        }
        "/api/transport/v1/history" => json!({"channel_id": ch, "customer": {"external_id": "h"},
            "messages": [{"external_id": "h1", "from": "client", "text": "old", "sent_at": 1}]}),
        _ => json!({}),
    })
}

/// A small image: it gets a preview.
fn png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(8, 8, image::Rgb([20, 120, 200]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// The fixtures: a manager per kind of caller, with a group for each right; per manager, one
/// dialog of each kind; two modules; a tag, a group, a shared quick reply, a manager to manage.
async fn world(app: &TestApp) -> (World, HashMap<Who, Caller>) {
    let admin = app.as_(ADMIN_EMAIL).await;
    let mine = admin.connect_module("http://127.0.0.1:9/hook").await;
    let other = admin.connect_module("http://127.0.0.1:9/hook").await;
    let (module, channel) = (mine.module, mine.channel);
    let mut callers = HashMap::new();
    callers.insert(Who::Nobody, app.anonymous());
    callers.insert(Who::Module, module.clone());
    callers.insert(Who::OtherModule, other.module);
    let mut ids = HashMap::new();
    for who in CALLERS {
        let Some((email, grants, admin_too)) = who.manager() else {
            continue;
        };
        if !admin_too {
            let m = app.manager(email, email).await;
            ids.insert(who, m.id);
            if grants != json!({}) {
                let g = admin
                    .post("/api/v1/groups", json!({"name": email, "grants": grants}))
                    .expect(201)
                    .await;
                admin
                    .put(
                        &format!("/api/v1/groups/{}/members", g["id"]),
                        json!({"members": [m.id]}),
                    )
                    .expect(200)
                    .await;
            }
        } else {
            ids.insert(who, app.admin.id);
        }
        callers.insert(who, app.as_(email).await);
    }
    let boris = app.manager("boris@example.com", "Boris").await;
    // A bot to hold dialogs (bots come with their own feature; the store makes one here).
    let bot = match app.db_url() {
        u if u.starts_with("sqlite") => beseda_store_sqlite::open(u)
            .await
            .unwrap()
            .bulk_bots(&["Bot".into()], beseda_core::time::Timestamp(1))
            .await
            .unwrap()[0],
        u => beseda_store_postgres::open(u)
            .await
            .unwrap()
            .bulk_bots(&["Bot".into()], beseda_core::time::Timestamp(1))
            .await
            .unwrap()[0],
    };
    let system = app.managers_actor(app.admin.id).await;
    let mut dialogs = HashMap::new();
    let mut n = 0;
    for (who, me) in &ids {
        for state in STATES {
            n += 1;
            let pushed = module
                .post(
                    "/api/transport/v1/messages",
                    json!({"channel_id": channel, "customer": {"external_id": format!("c{n}")},
                        "external_id": format!("own-{n}"), "text": "Hello"}),
                )
                .expect(200)
                .await;
            let d = pushed["dialog_id"].as_i64().unwrap();
            // The client's photo, as a messenger's connector keeps it.
            let photo: beseda_core::files::ByteStream<'static> =
                Box::pin(futures_util::stream::once(async {
                    Ok(bytes::Bytes::from(png()))
                }));
            let key = app.state.attachments.put_photo(photo).await.unwrap();
            app.store
                .set_contact_photo(beseda_core::ids::ChannelId(channel), &format!("c{n}"), &key)
                .await
                .unwrap();
            let up = admin
                .upload(
                    &format!("/api/v1/dialogs/{d}/attachments"),
                    reqwest::multipart::Form::new().part(
                        "file",
                        reqwest::multipart::Part::bytes(png()).file_name("m.png"),
                    ),
                )
                .expect(201)
                .await;
            let file = up[0]["id"].as_i64().unwrap();
            admin
                .post(
                    &format!("/api/v1/dialogs/{d}/messages"),
                    json!({"body": "", "attachment_ids": [file]}),
                )
                .expect(201)
                .await;
            let to = match state {
                State::Own => Some(Responsible::Manager(*me)),
                State::Anothers => Some(Responsible::Manager(boris.id)),
                State::BotHeld => Some(Responsible::Bot(BotId(bot.0))),
                State::Unassigned | State::Deleted => None,
            };
            app.state
                .dialogs
                .assign(&system, DialogId(d), to)
                .await
                .unwrap();
            if state == State::Deleted {
                admin
                    .post("/api/v1/dialogs/delete", json!({"ids": [d]}))
                    .expect(200)
                    .await;
            }
            let client = app
                .store
                .dialog_access(DialogId(d))
                .await
                .unwrap()
                .and_then(|a| a.client_id)
                .map_or(0, |c| c.0);
            dialogs.insert((*who, state), (d, client, file));
        }
    }
    let tag = admin
        .post("/api/v1/tags", json!({"name": "Fixture", "color": "blue"}))
        .expect(201)
        .await;
    let group = admin
        .post("/api/v1/groups", json!({"name": "Fixture group"}))
        .expect(201)
        .await;
    let reply = admin
        .post(
            "/api/v1/quick-replies",
            json!({"title": "Shared", "body": "Hello", "shared": true}),
        )
        .expect(201)
        .await;
    let as_boris = app.as_("boris@example.com").await;
    let token = as_boris
        .post(
            "/api/v1/me/tokens",
            json!({"name": "CRM", "password": PASSWORD}),
        )
        .expect(201)
        .await;
    let mut orders = HashMap::new();
    for (_, client, _) in dialogs.values() {
        let (status, order) = admin
            .post(
                "/api/v1/orders",
                json!({"client_id": client, "currency": "RUB", "total_minor": 100}),
            )
            .await;
        // A deleted dialog's client is nobody's to see.
        if status == 201 {
            orders.insert(*client, order["id"].as_i64().unwrap());
        }
    }
    let world = World {
        bot: bot.0,
        orders,
        dialogs,
        channel,
        other_module: other.id,
        tag: tag["id"].as_i64().unwrap(),
        group: group["id"].as_i64().unwrap(),
        quick_reply: reply["id"].as_i64().unwrap(),
        target_manager: boris.id.0,
        target_token: token["token"]["id"].as_i64().unwrap(),
        widget_key: crate::widget_api::create_widget(app, "https://shop.example")
            .await
            .0,
    };
    (world, callers)
}

/// The dialogs `who` may see: another caller's own dialog is, for `who`, someone else's.
fn visible(w: &World, who: Who) -> BTreeSet<i64> {
    w.dialogs
        .iter()
        .filter(|((owner, state), _)| match state {
            State::Deleted => false,
            State::Unassigned => true,
            State::Own if *owner == who => true,
            _ => who.rights().view_all,
        })
        .map(|(_, (d, _, _))| *d)
        .collect()
}

async fn no_cell_of_the_matrix_leaks(app: TestApp) {
    let (w, callers) = world(&app).await;
    let doc = app.openapi().await;
    let admin = app.as_(ADMIN_EMAIL).await;
    let snapshot = |admin: Caller, w: &World| {
        let ds: Vec<i64> = w.dialogs.values().map(|(d, _, _)| *d).collect();
        async move {
            let mut out = Vec::new();
            for d in ds {
                let (s, v) = admin.get(&format!("/api/v1/dialogs/{d}")).await;
                let (_, feed) = admin
                    .get(&format!("/api/v1/dialogs/{d}/messages?limit=200"))
                    .await;
                out.push((
                    d,
                    s,
                    v["responsible"].clone(),
                    v["open"].clone(),
                    feed.as_array().map(Vec::len),
                ));
            }
            out
        }
    };
    let before = snapshot(admin.clone(), &w).await;

    let (mut cells, mut sent, mut leaks) = (0, 0, Vec::new());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            let dialog_scoped =
                matches!(guard(&method, path), Guard::Dialog | Guard::DeleteDialogs);
            let states: Vec<Option<State>> = if dialog_scoped {
                STATES.iter().copied().map(Some).collect()
            } else {
                vec![None]
            };
            for who in CALLERS {
                for state in &states {
                    cells += 1;
                    let rule = expect(&method, path, who, *state);
                    if rule == Expect::Write
                        || path == "/api/v1/ws"
                        || path == "/api/widget/v1/{key}/live"
                    {
                        continue;
                    }
                    sent += 1;
                    let url = fill(path, &w, who, *state);
                    let (dialog, client, _) = cell_dialog(&w, who, *state);
                    let m = Method::from_bytes(method.as_bytes()).unwrap();
                    let (status, answer) = callers[&who]
                        .request(m, &url, body(&method, path, &w, (dialog, client)))
                        .await;
                    let ok = match rule {
                        Expect::Unauthenticated => status == 401,
                        Expect::Forbidden => (400..500).contains(&status) && status != 401,
                        Expect::Hidden => {
                            let refused =
                                (400..500).contains(&status) && status != 401 && status != 403;
                            // Deleting what one cannot see deletes nothing, and says so.
                            refused
                                || (path == "/api/v1/dialogs/delete"
                                    && status == 200
                                    && answer["deleted"] == 0)
                        }
                        Expect::Read => (200..300).contains(&status),
                        Expect::Write => true,
                    };
                    // A list shows only what the caller may see: dialogs, or a module's channels.
                    let shows_more = rule == Expect::Read
                        && match path.as_str() {
                            "/api/v1/dialogs" | "/api/v1/search" => {
                                let shown: BTreeSet<i64> = answer["dialogs"]
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .map(|d| d["id"].as_i64().unwrap())
                                    .collect();
                                !shown.is_subset(&visible(&w, who))
                            }
                            "/api/transport/v1/channels" => {
                                who == Who::OtherModule
                                    && answer
                                        .to_string()
                                        .contains(&format!("\"id\":{}", w.channel))
                            }
                            _ => false,
                        };
                    if !ok || shows_more {
                        leaks.push(format!("{method} {url} as {who:?} ({state:?}): expected {rule:?}, got {status} {answer}"));
                    }
                }
            }
        }
    }
    println!(
        "permission matrix ({}): {cells} cells, {sent} sent, {} leaks",
        app.store.backend(),
        leaks.len()
    );
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
    assert!(cells > 1_000 && sent > 500, "{cells} cells, {sent} sent");
    assert_eq!(
        snapshot(admin, &w).await,
        before,
        "a refused request changes nothing"
    );
}

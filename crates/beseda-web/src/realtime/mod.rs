//! Realtime: `GET /api/v1/ws`. A manager's screen holds a WebSocket and receives the events it
//! may see, as JSON. A client that reconnects with `?after=<last event id>` first receives what
//! it missed from the log; beyond the replay window it gets a `resync` event and reloads.

pub mod bot;
pub mod hub;

use crate::app::AppState;
use crate::http::auth::{ApiActor, Credential};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::json::ApiQuery;
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use beseda_core::CoreError;
use beseda_core::dialog::Viewer;
use beseda_core::event::{Audience, DomainEvent, EventFrame, EventId};
use serde::Deserialize;
use std::time::Duration;

/// How many missed events a reconnecting client may replay before it must resync.
pub const REPLAY_LIMIT: u32 = 1000;
/// How often a connection is pinged and its credential and rights checked again, unless the
/// state says otherwise.
pub const PING_EVERY: Duration = Duration::from_secs(30);
/// How many sockets one manager may hold open at once (tabs, devices, integrations).
pub const SOCKETS_PER_MANAGER: usize = 20;

#[derive(Deserialize)]
pub struct WsQuery {
    after: Option<i64>,
}

/// A browser's WebSocket must come from our own pages: the Origin's host is the Host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true; // not a browser
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority == host)
}

/// GET /api/v1/ws: the event stream (see the module documentation).
#[utoipa::path(get, path = "/api/v1/ws", tag = "realtime",
    description = "The live event stream, a WebSocket (send `Connection: Upgrade`, `Upgrade: websocket`). \
    Authenticate as for the rest of the API: the session cookie (a browser's `Origin` must be this server) or \
    `Authorization: Bearer <token>`. Each text frame is one `EventFrame`: `{\"id\", \"dialog_id\", \"kind\", \"data\"}`, \
    where `kind` names a `DomainEvent` and `data` is its payload. Only the events of dialogs the caller may \
    see arrive (F33), and the personal ones (`dialog_read`, `dialog_unread`, `draft_changed`) reach their manager \
    only. A client that lost its connection reconnects with `?after=<the last id it saw>` and first receives \
    what it missed, in order; when that is more than the log replays (1,000 events) it receives one \
    `{\"kind\":\"resync\"}` and should reload its state; the replay holds only the dialogs the caller may see now. \
    The server pings every 30 s and closes a connection that does not answer, that reads too slowly (after a \
    `resync`), whose session or token has ended, or whose manager was disabled or lost or gained a right \
    (reconnect with `?after=`). One manager holds at most 20 sockets at once; frames from the client are at most 64 KiB.",
    params(("after" = Option<i64>, Query, description = "Replay the events after this id first")),
    responses((status = 101, description = "Switching to the WebSocket protocol; frames are `EventFrame`s", body = EventFrame),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "`forbidden`: a browser from another origin"),
        (status = 429, body = ErrorBody, description = "`too_many_connections`: the manager holds 20 sockets already")))]
pub async fn ws(
    State(state): State<AppState>,
    caller: ApiActor,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<WsQuery>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    if !same_origin(&headers) {
        return Err(ApiError::from(CoreError::Forbidden(
            "same-origin WebSocket",
        )));
    }
    if state.hub.sockets_of(caller.actor.id()) >= SOCKETS_PER_MANAGER {
        return Err(ApiError::Request {
            status: axum::http::StatusCode::TOO_MANY_REQUESTS,
            code: "too_many_connections",
            message: format!("one manager holds at most {SOCKETS_PER_MANAGER} sockets at once"),
        });
    }
    let viewer = Viewer::of(&caller.actor);
    let credential = caller.credential;
    // Small buffers: an idle connection should cost little (the defaults are ~128 KiB).
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .on_upgrade(move |socket| serve(state, viewer, credential, q.after.map(EventId), socket)))
}

/// The frame that tells a client it missed too much and must reload.
fn resync() -> Message {
    let frame = EventFrame {
        id: None,
        dialog_id: None,
        event: DomainEvent::Resync {},
    };
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(&frame).unwrap_or_default(),
    ))
}

/// The missed events `viewer` may see now: a dialog's events leave the replay with the dialog
/// (a reassignment since); the personal ones and the notices of loss stay.
async fn visible_now(
    state: &AppState,
    viewer: &Viewer,
    missed: Vec<beseda_core::event::Event>,
) -> beseda_core::CoreResult<Vec<beseda_core::event::Event>> {
    let mut sight: std::collections::HashMap<beseda_core::ids::DialogId, bool> =
        std::collections::HashMap::new();
    let mut out = Vec::with_capacity(missed.len());
    for e in missed {
        if !e.audience.admits(viewer) {
            continue;
        }
        if let (Audience::Dialog(_), Some(d), false) = (&e.audience, e.dialog_id, viewer.sees_all) {
            let sees = match sight.get(&d).copied() {
                Some(sees) => sees,
                None => {
                    let access = state.store.dialog_access(d).await?;
                    let sees = access.is_some_and(|a| viewer.may_see(a.responsible));
                    sight.insert(d, sees);
                    sees
                }
            };
            if !sees {
                continue;
            }
        }
        out.push(e);
    }
    Ok(out)
}

/// Serves a socket, and keeps the manager's presence (F36): connected while a socket of theirs
/// answers, not when their last one closes.
async fn serve(
    state: AppState,
    viewer: Viewer,
    credential: Credential,
    after: Option<EventId>,
    socket: WebSocket,
) {
    let presence = |connected| {
        let state = state.clone();
        async move {
            if let Err(e) = state.distribution.presence(viewer.manager, connected).await {
                tracing::warn!(error = %e, "keeping a manager's presence failed");
            }
        }
    };
    presence(true).await;
    serve_socket(state.clone(), viewer, credential, after, socket).await;
    if state.hub.sockets_of(viewer.manager) == 0 {
        presence(false).await;
    }
}

async fn serve_socket(
    state: AppState,
    viewer: Viewer,
    credential: Credential,
    after: Option<EventId>,
    mut socket: WebSocket,
) {
    // Register first, so nothing committed during the replay is missed.
    let mut reg = state.hub.register(viewer);
    let mut last = after.unwrap_or(EventId(0));
    if let Some(after) = after {
        // Nothing when too many were missed, some were pruned from the log, or it is unreadable.
        let replay = match state.store.events_after(after, REPLAY_LIMIT + 1).await {
            Ok(Some(missed)) if missed.len() <= REPLAY_LIMIT as usize => {
                visible_now(&state, &viewer, missed).await.ok()
            }
            _ => None,
        };
        match replay {
            Some(missed) => {
                for e in missed {
                    last = e.id;
                    if socket
                        .send(Message::Text(Utf8Bytes::from(e.json.to_string())))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
            None => {
                let _ = socket.send(resync()).await;
            }
        }
    }
    let mut ping = tokio::time::interval(state.ws_ping);
    ping.tick().await;
    let mut awaiting_pong = false;
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            out = reg.events.recv() => match out {
                Some(o) if o.id <= last => {}
                Some(o) => {
                    last = o.id;
                    if socket.send(Message::Text(o.text)).await.is_err() {
                        return;
                    }
                }
                None => {
                    // Dropped by the hub for being too slow: tell the client to catch up.
                    let _ = socket.send(resync()).await;
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Pong(_))) => awaiting_pong = false,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                // The session or token may have ended, the manager been disabled or their
                // rights changed: the connection closes, and a reconnect starts over.
                let still = credential.actor(&state).await.map(|a| Viewer::of(&a));
                if awaiting_pong || still.ok() != Some(viewer) {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
                awaiting_pong = true;
                if let Err(e) = state.distribution.presence(viewer.manager, true).await {
                    tracing::warn!(error = %e, "keeping a manager's presence failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `kind` the event vocabulary has, read from its OpenAPI schema.
    fn kinds() -> Vec<String> {
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(o) => {
                    if let Some(e) = o
                        .get("properties")
                        .and_then(|p| p.get("kind"))
                        .and_then(|k| k.get("enum"))
                        .and_then(|e| e.as_array())
                    {
                        out.extend(e.iter().filter_map(|k| k.as_str().map(str::to_owned)));
                    }
                    o.values().for_each(|v| walk(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let schema =
            serde_json::to_value(<DomainEvent as utoipa::PartialSchema>::schema()).expect("schema");
        let mut out = Vec::new();
        walk(&schema, &mut out);
        out
    }

    #[test]
    fn the_workspace_script_names_only_kinds_the_vocabulary_has() {
        let known = kinds();
        assert!(known.len() >= 18, "the schema lists every kind: {known:?}");
        // The workspace's events are handled in inbox.js (`onEvent` and the socket's `resync`).
        let script = include_str!("../../assets/inbox.js");
        let named: Vec<&str> = script
            .split("case \"")
            .skip(1)
            .chain(script.split("e.kind === \"").skip(1))
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(named.len() >= 10, "{named:?}");
        for kind in named {
            assert!(
                known.iter().any(|k| k == kind),
                "the script handles `{kind}`, which no DomainEvent is"
            );
        }
    }
}

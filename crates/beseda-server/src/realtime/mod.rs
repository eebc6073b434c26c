//! Realtime: `GET /api/v1/ws`. A manager's screen holds a WebSocket and receives the events it
//! may see, as JSON. A client that reconnects with `?after=<last event id>` first receives what
//! it missed from the log; beyond the replay window it gets `{"kind":"resync"}` and reloads.

pub mod hub;

use crate::app::AppState;
use crate::http::auth::ApiActor;
use crate::http::error::{ApiError, ApiResult};
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use beseda_core::CoreError;
use beseda_core::dialog::Viewer;
use beseda_core::event::EventId;
use serde::Deserialize;
use std::time::Duration;

/// How many missed events a reconnecting client may replay before it must resync.
pub const REPLAY_LIMIT: u32 = 1000;
const PING_EVERY: Duration = Duration::from_secs(30);

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
pub async fn ws(
    State(state): State<AppState>,
    caller: ApiActor,
    headers: HeaderMap,
    Query(q): Query<WsQuery>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    if !same_origin(&headers) {
        return Err(ApiError::from(CoreError::Forbidden(
            "same-origin WebSocket",
        )));
    }
    let viewer = Viewer::of(&caller.actor);
    // Small buffers: an idle connection should cost little (the defaults are ~128 KiB).
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| serve(state, viewer, q.after.map(EventId), socket)))
}

async fn serve(state: AppState, viewer: Viewer, after: Option<EventId>, mut socket: WebSocket) {
    // Register first, so nothing committed during the replay is missed.
    let mut reg = state.hub.register(viewer);
    let mut last = after.unwrap_or(EventId(0));
    if let Some(after) = after {
        match state.store.events_after(after, REPLAY_LIMIT + 1).await {
            Ok(missed) if missed.len() <= REPLAY_LIMIT as usize => {
                for e in missed {
                    last = e.id;
                    if e.audience.admits(&viewer)
                        && socket
                            .send(Message::Text(Utf8Bytes::from(e.json.to_string())))
                            .await
                            .is_err()
                    {
                        return;
                    }
                }
            }
            Ok(_) | Err(_) => {
                let _ = socket
                    .send(Message::Text(Utf8Bytes::from_static(
                        r#"{"kind":"resync"}"#,
                    )))
                    .await;
            }
        }
    }
    let mut ping = tokio::time::interval(PING_EVERY);
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
                    let _ = socket.send(Message::Text(Utf8Bytes::from_static(r#"{"kind":"resync"}"#))).await;
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Pong(_))) => awaiting_pong = false,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if awaiting_pong || socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
                awaiting_pong = true;
            }
        }
    }
}

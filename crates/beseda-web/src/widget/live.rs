//! The visitor's live stream (F39): a WebSocket, or long-polling where sockets do not get
//! through. Both resume after the last event id seen; both mark the visitor present while
//! they last, which is what "the visitor left the site" is made of.

use super::api::VisitorCaller;
use super::visitors::{Nudge, VisitorConnection};
use crate::app::AppState;
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::json::{ApiPath, ApiQuery};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use beseda_core::CoreResult;
use beseda_core::event::EventId;
use beseda_core::ids::DialogId;
use beseda_core::services::widget::{VisitorContext, VisitorEvent, VisitorFrame};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a long-poll waits for something to happen.
const POLL_WAIT: Duration = Duration::from_secs(25);
/// How long a new socket may take to send its token.
const HELLO_WAIT: Duration = Duration::from_secs(10);
/// The close code that tells the widget its token is no longer valid.
const BAD_TOKEN: u16 = 4401;

fn frame(f: &VisitorFrame) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(f).unwrap_or_default(),
    ))
}

fn plain(event: VisitorEvent) -> VisitorFrame {
    VisitorFrame { id: None, event }
}

/// A visitor's connection: registered with the presence and fan-out, following their dialog.
struct Live {
    ctx: VisitorContext,
    conn: VisitorConnection,
    dialog: Option<DialogId>,
}

async fn open(state: &AppState, ctx: VisitorContext) -> CoreResult<Live> {
    let dialog = state.widget.dialog_of(&ctx.visitor).await?;
    let (conn, arrived) = state.visitors.connect(&ctx.visitor, dialog);
    if arrived {
        state.widget.presence(&ctx.visitor, true).await?;
    }
    Ok(Live { ctx, conn, dialog })
}

impl Live {
    /// What was missed after `after`, or a `resync` when more than a replay holds.
    async fn catch_up(
        &mut self,
        state: &AppState,
        after: EventId,
    ) -> CoreResult<Vec<VisitorFrame>> {
        if self.dialog.is_none() {
            self.dialog = state.widget.dialog_of(&self.ctx.visitor).await?;
        }
        let Some(dialog) = self.dialog else {
            return Ok(Vec::new());
        };
        Ok(state
            .widget
            .missed(&self.ctx, dialog, after)
            .await?
            .unwrap_or_else(|| vec![plain(VisitorEvent::Resync {})]))
    }
}

#[derive(Deserialize)]
struct Hello {
    token: String,
    after: Option<i64>,
}

/// GET /api/widget/v1/{key}/live: the visitor's events as a WebSocket.
#[utoipa::path(get, path = "/api/widget/v1/{key}/live", tag = "widget",
    description = "A WebSocket (the page's `Origin` must be on the widget's list). The widget's first frame is \
    `{\"token\": \"<visitor token>\", \"after\": <last event id seen, or null>}`; the server answers `{\"type\":\"ready\"}`, \
    then what was missed, then each `VisitorFrame` as it happens: `message` (new or changed, replace by id), \
    `read` (the company read the visitor's messages up to `up_to`), `resync` (load the history again). \
    A bad token closes the socket with code 4401. While a socket is open the visitor is on the site; \
    15 s after their last one closes, they have left (F31: replies then fail).",
    params(("key" = String, Path, description = "The widget's public key")),
    responses((status = 101, body = VisitorFrame, description = "Switching to the WebSocket protocol"),
        (status = 403, body = ErrorBody, description = "`origin_not_allowed`"),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn socket(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    state.widget.by_key(&key).await?;
    // An idle visitor should cost little: small buffers, small frames (they only say hello).
    Ok(upgrade
        .read_buffer_size(1024)
        .write_buffer_size(2 * 1024)
        .max_message_size(4 * 1024)
        .max_frame_size(4 * 1024)
        .on_upgrade(move |socket| serve(state, key, socket)))
}

async fn hello(
    state: &AppState,
    key: &str,
    socket: &mut WebSocket,
) -> Option<(Live, Option<EventId>)> {
    let first = tokio::time::timeout(HELLO_WAIT, socket.recv()).await;
    let hello = match first {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str::<Hello>(&t).ok(),
        _ => None,
    };
    let ctx = match &hello {
        Some(h) => state.widget.visitor(key, &h.token).await.ok(),
        None => None,
    };
    let Some(ctx) = ctx else {
        let close = CloseFrame {
            code: BAD_TOKEN,
            reason: "the visitor token is not valid".into(),
        };
        let _ = socket.send(Message::Close(Some(close))).await;
        return None;
    };
    let live = open(state, ctx).await.ok()?;
    Some((live, hello.and_then(|h| h.after).map(EventId)))
}

async fn serve(state: AppState, key: String, mut socket: WebSocket) {
    let Some((mut live, after)) = hello(&state, &key, &mut socket).await else {
        return;
    };
    if socket
        .send(frame(&plain(VisitorEvent::Ready {})))
        .await
        .is_err()
    {
        return;
    }
    // Registered before the replay: what commits meanwhile comes through the fan-out too, and
    // ids already sent are skipped.
    let mut last = after.unwrap_or(EventId(0));
    if let Some(after) = after {
        let missed = live.catch_up(&state, after).await.unwrap_or_default();
        for f in &missed {
            last = f.id.unwrap_or(last).max(last);
            if socket.send(frame(f)).await.is_err() {
                return;
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
            nudge = live.conn.events.recv() => {
                let frames = match nudge {
                    Some(Nudge::Event(event)) if event.id > last => {
                        state.widget.frames(&live.ctx, std::slice::from_ref(&event)).await
                    }
                    Some(Nudge::Event(_)) => continue,
                    Some(Nudge::DialogStarted(dialog)) => {
                        live.dialog = Some(dialog);
                        live.catch_up(&state, last).await
                    }
                    None => {
                        // Too slow for the fan-out: the widget reloads what it missed.
                        let _ = socket.send(frame(&plain(VisitorEvent::Resync {}))).await;
                        return;
                    }
                };
                // What the replay sent already is not sent twice.
                for f in frames.unwrap_or_default() {
                    if let Some(id) = f.id {
                        if id <= last {
                            continue;
                        }
                        last = id;
                    }
                    if socket.send(frame(&f)).await.is_err() {
                        return;
                    }
                }
            }
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PollQuery {
    /// The last event id seen (from the history or an earlier poll).
    after: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PollAnswer {
    events: Vec<VisitorFrame>,
    /// Poll again after this id.
    last_event_id: EventId,
}

/// GET /api/widget/v1/{key}/events: the visitor's events by long-polling.
#[utoipa::path(get, path = "/api/widget/v1/{key}/events", tag = "widget",
    description = "For networks where WebSockets do not get through: answers at once with what happened after \
    `after`, or waits up to 25 s for something to happen. The frames are those of the socket.",
    params(("key" = String, Path, description = "The widget's public key"), PollQuery),
    responses((status = 200, body = PollAnswer),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("visitor_token" = [])))]
pub async fn poll(
    State(state): State<AppState>,
    VisitorCaller(ctx): VisitorCaller,
    ApiQuery(q): ApiQuery<PollQuery>,
) -> ApiResult<axum::Json<PollAnswer>> {
    let mut live = open(&state, ctx).await?;
    let after = match q.after {
        Some(a) => EventId(a),
        None => state.store.newest_event_id().await?,
    };
    let mut events = live.catch_up(&state, after).await?;
    let mut seen = after;
    if events.is_empty() {
        let waited = tokio::select! {
            () = state.shutdown.cancelled() => None,
            () = tokio::time::sleep(POLL_WAIT) => None,
            e = live.conn.events.recv() => e,
        };
        if let Some(nudge) = waited {
            if let Nudge::Event(e) = nudge {
                seen = e.id;
            }
            events = live.catch_up(&state, after).await?;
        }
    }
    // Past what the visitor does not see, too, so the next poll does not meet it again.
    let last_event_id = events.iter().filter_map(|f| f.id).fold(seen, EventId::max);
    Ok(axum::Json(PollAnswer {
        events,
        last_event_id,
    }))
}

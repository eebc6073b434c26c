//! A bot's event stream: `GET /api/bot/v1/ws`. The frames are those of the manager's socket,
//! for the dialogs the bot sees. A bot must not miss an event: a reconnect with `?after=`
//! replays everything since from the log, page by page, and so does a socket that fell behind.

use crate::app::AppState;
use crate::http::api_bot::BotCaller;
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::json::ApiQuery;
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use beseda_core::bot::Bot;
use beseda_core::event::{Event, EventFrame, EventId};
use beseda_core::ids::{ChannelId, DialogId};
use beseda_core::secret::Token;
use std::collections::HashMap;
use tokio::sync::broadcast::error::RecvError;

const PAGE: u32 = 500;

/// GET /api/bot/v1/ws: the bot's events, live (see the module documentation).
#[utoipa::path(get, path = "/api/bot/v1/ws", tag = "bot API",
    description = "The bot's live events, a WebSocket, authenticated by `X-Bot-Token`. Each text frame is one \
    `EventFrame` of a dialog the bot sees (the unassigned dialogs of its channels, the dialogs it holds; \
    `dialog_gone` when one leaves its sight). Without `after` the stream starts now; with \
    `?after=<the last id it saw>` it first replays everything since, in order, however much. The server pings \
    every 30 s and closes the socket when the bot is turned off or its token renewed.",
    params(("after" = Option<i64>, Query, description = "Replay the events after this id first")),
    responses((status = 101, description = "Switching to the WebSocket protocol; frames are `EventFrame`s", body = EventFrame),
        (status = 401, body = ErrorBody)))]
pub async fn ws(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<super::WsQuery>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    let token = headers
        .get("x-bot-token")
        .and_then(|v| v.to_str().ok())
        .map(Token::from_client)
        .ok_or(beseda_core::CoreError::Unauthenticated)?;
    let after = q.after.map(EventId);
    Ok(upgrade
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| serve(state, bot, token, after, socket)))
}

/// The channel of each dialog the stream met: a dialog never moves to another channel.
struct Channels(HashMap<DialogId, Option<ChannelId>>);

impl Channels {
    async fn of(&mut self, state: &AppState, d: DialogId) -> Option<ChannelId> {
        if let Some(c) = self.0.get(&d) {
            return *c;
        }
        let c = match state.store.dialog_access(d).await {
            Ok(access) => access.map(|a| a.channel_id),
            Err(_) => return None,
        };
        self.0.insert(d, c);
        c
    }
}

async fn send(socket: &mut WebSocket, e: &Event) -> bool {
    socket
        .send(Message::Text(Utf8Bytes::from(e.json.to_string())))
        .await
        .is_ok()
}

/// Sends everything after `last` from the log; `None` when the socket or the log failed.
async fn catch_up(
    state: &AppState,
    bot: &Bot,
    socket: &mut WebSocket,
    mut last: EventId,
) -> Option<EventId> {
    loop {
        let page = state.bots.events(bot, last, PAGE).await.ok()?;
        for e in &page.events {
            if !send(socket, e).await {
                return None;
            }
        }
        if page.read_up_to == last {
            return Some(last);
        }
        last = page.read_up_to;
    }
}

async fn serve(
    state: AppState,
    mut bot: Bot,
    token: Token,
    after: Option<EventId>,
    mut socket: WebSocket,
) {
    // Subscribed first, so nothing committed during the replay is missed.
    let mut live = state.bus.subscribe();
    let start = match after {
        Some(a) => a,
        None => match state.store.newest_event_id().await {
            Ok(id) => id,
            Err(_) => return,
        },
    };
    let Some(mut last) = catch_up(&state, &bot, &mut socket, start).await else {
        return;
    };
    let mut channels = Channels(HashMap::new());
    let mut ping = tokio::time::interval(state.ws_ping);
    ping.tick().await;
    let mut awaiting_pong = false;
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            event = live.recv() => match event {
                Ok(e) if e.id <= last => {}
                Ok(e) => {
                    last = e.id;
                    let Some(d) = e.dialog_id else { continue };
                    let Some(channel) = channels.of(&state, d).await else { continue };
                    if bot.scope().admits(&e.audience, channel) && !send(&mut socket, &e).await {
                        return;
                    }
                }
                // Fell behind the bus: the log has what was skipped.
                Err(RecvError::Lagged(_)) => match catch_up(&state, &bot, &mut socket, last).await {
                    Some(l) => last = l,
                    None => return,
                },
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Pong(_))) => awaiting_pong = false,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                // Turned off or given a new token: the socket closes. New channels apply.
                match state.bots.authenticate(&token).await {
                    Ok(now) if !awaiting_pong => bot = now,
                    _ => {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
                awaiting_pong = true;
            }
        }
    }
}

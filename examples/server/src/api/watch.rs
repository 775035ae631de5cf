//! Watching a workspace: `GET /workspaces/{id}/watch` (Server-Sent Events in Coder's format)
//! and `GET /workspaces/{id}/watch-ws` (one-way websocket of `ServerSentEvent` JSON). Both
//! push the full `Workspace` once at connect and again whenever it changes.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response as HttpResponse};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;

use super::workspaces::load_workspace;
use crate::auth::Session;
use crate::error::Result;
use crate::pubsub::Event;
use crate::state::AppState;
use crate::views;

/// The longest a watcher goes without re-reading the workspace.
const REREAD: Duration = Duration::from_secs(5);

/// What a watcher sends.
enum Push {
    Ping,
    Data(String),
    Error(String),
}

/// Produces pushes for workspace `id` until the receiver is dropped.
fn watch_task(state: AppState, id: Uuid) -> mpsc::Receiver<Push> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut events = state.events.subscribe();
        let mut shutdown = state.shutdown.clone();
        let mut ping = tokio::time::interval(Duration::from_secs(15));
        let mut last = String::new();
        let mut first = true;
        loop {
            if first {
                ping.tick().await;
                if tx.send(Push::Ping).await.is_err() {
                    return;
                }
                first = false;
            }
            if *shutdown.borrow() {
                return;
            }
            let push = match state.store.workspace(id).await {
                Ok(Some(ws)) => {
                    match views::workspace(&state.store, &ws, state.config.allow_workspace_renames)
                        .await
                    {
                        Ok(view) => {
                            let text = serde_json::to_string(&view).unwrap_or_default();
                            if text == last {
                                None
                            } else {
                                last = text.clone();
                                Some(Push::Data(text))
                            }
                        }
                        Err(e) => Some(Push::Error(
                            serde_json::to_string(&e.to_response()).unwrap_or_default(),
                        )),
                    }
                }
                Ok(None) => return,
                Err(e) => Some(Push::Error(
                    serde_json::to_string(&e.to_response()).unwrap_or_default(),
                )),
            };
            if let Some(push) = push
                && tx.send(push).await.is_err()
            {
                return;
            }
            // Re-read at least this often: derived fields (agent status) change with time.
            // The deadline is fixed per read, so a busy bus of unrelated events never defers it.
            let reread = tokio::time::sleep(REREAD);
            tokio::pin!(reread);
            loop {
                tokio::select! {
                    ev = events.recv() => match ev {
                        Ok(Event::Workspace(w)) if w == id => break,
                        Ok(_) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                        Err(_) => return,
                    },
                    _ = ping.tick() => {
                        if tx.send(Push::Ping).await.is_err() {
                            return;
                        }
                    }
                    () = tx.closed() => return,
                    // Dropping the sender ends the SSE stream / websocket.
                    () = crate::server::stopping(&mut shutdown) => return,
                    () = &mut reread => break,
                }
            }
        }
    });
    rx
}

/// `GET /workspaces/{id}/watch` (SSE).
pub(crate) async fn sse(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<HttpResponse> {
    let ws = load_workspace(&state, &session, &id).await?;
    let rx = watch_task(state, ws.id);
    let stream = futures_util::StreamExt::map(ReceiverStream::new(rx), |push| {
        Ok::<_, Infallible>(match push {
            Push::Ping => SseEvent::default().event("ping"),
            Push::Data(json) => SseEvent::default().event("data").data(json),
            Push::Error(json) => SseEvent::default().event("error").data(json),
        })
    });
    let mut resp = Sse::new(stream).into_response();
    let h = resp.headers_mut();
    h.insert("Cache-Control", HeaderValue::from_static("no-cache"));
    h.insert("X-Accel-Buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

/// `GET /workspaces/{id}/watch-ws` (one-way websocket).
pub(crate) async fn ws(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    upgrade: WebSocketUpgrade,
) -> Result<HttpResponse> {
    let ws = load_workspace(&state, &session, &id).await?;
    Ok(upgrade
        .on_upgrade(move |mut socket| async move {
            let _open = state.streams.enter();
            let mut rx = watch_task(state, ws.id);
            let mut keepalive = tokio::time::interval(Duration::from_secs(15));
            keepalive.tick().await;
            loop {
                tokio::select! {
                    push = rx.recv() => {
                        let Some(push) = push else {
                            let _ = socket
                                .send(Message::Close(Some(CloseFrame {
                                    code: 1001,
                                    reason: "server shutting down".into(),
                                })))
                                .await;
                            return;
                        };
                        let text = match push {
                            Push::Ping => r#"{"type":"ping","data":null}"#.to_owned(),
                            Push::Data(json) => format!(r#"{{"type":"data","data":{json}}}"#),
                            Push::Error(json) => format!(r#"{{"type":"error","data":{json}}}"#),
                        };
                        if socket.send(Message::Text(text.into())).await.is_err() {
                            return;
                        }
                    }
                    _ = keepalive.tick() => {
                        if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                            return;
                        }
                    }
                    msg = socket.recv() => match msg {
                        Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                            let _ = socket
                                .send(Message::Close(Some(CloseFrame {
                                    code: 1002,
                                    reason: "Clients cannot send messages for one-way WebSockets".into(),
                                })))
                                .await;
                            return;
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                        Some(Ok(_)) => {}
                    },
                }
            }
        })
        .into_response())
}

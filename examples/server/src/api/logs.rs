//! Provisioner job logs: a JSON array, or (with `follow`) a websocket that sends stored lines
//! after `after`, then live ones, and closes with 1000 "done" once the job has finished and
//! every line was sent.

use std::time::Duration;

use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as HttpResponse};
use uuid::Uuid;

use super::templates::load_version;
use super::{QueryMap, json, parse_uuid};
use crate::auth::Session;
use crate::error::{Error, Result};
use crate::pubsub::Event;
use crate::state::AppState;

type Upgrade = std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>;

/// `GET /workspacebuilds/{id}/logs?after=&follow`.
pub(crate) async fn build_logs(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    q: QueryMap,
    upgrade: Upgrade,
) -> Result<HttpResponse> {
    let id = parse_uuid(&id, "workspace build id")?;
    let b = state.store.build(id).await?.ok_or(Error::NotFound)?;
    let ws = state
        .store
        .workspace(b.workspace_id)
        .await?
        .ok_or(Error::NotFound)?;
    if ws.owner_id != session.user.id && !session.is_owner() {
        return Err(Error::NotFound);
    }
    job_logs(state, b.job_id, q, upgrade).await
}

/// `GET /templateversions/{id}/logs?after=&follow`.
pub(crate) async fn version_logs(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    q: QueryMap,
    upgrade: Upgrade,
) -> Result<HttpResponse> {
    let v = load_version(&state, &session, &id).await?;
    job_logs(state, v.job_id, q, upgrade).await
}

async fn job_logs(
    state: AppState,
    job_id: Uuid,
    q: QueryMap,
    upgrade: Upgrade,
) -> Result<HttpResponse> {
    let after = match q.get("after").filter(|a| !a.is_empty()) {
        None => 0,
        Some(a) => a.parse::<i64>().map_err(|_| {
            Error::validation(
                "after",
                format!("Query param \"after\" must be a valid integer ({a:?})."),
            )
        })?,
    };
    if !q.contains_key("follow") {
        let logs = state.store.job_logs_after(job_id, after).await?;
        return Ok(json(StatusCode::OK, &logs));
    }
    let upgrade = upgrade
        .map_err(|e| Error::bad_request_detail("Failed to accept websocket.", e.to_string()))?;
    Ok(upgrade
        .on_upgrade(move |socket| follow(socket, state, job_id, after))
        .into_response())
}

async fn follow(mut socket: WebSocket, state: AppState, job_id: Uuid, mut cursor: i64) {
    let _open = state.streams.enter();
    let mut events = state.events.subscribe();
    let mut shutdown = state.shutdown.clone();
    let mut ping = tokio::time::interval(Duration::from_secs(15));
    ping.tick().await;
    let going_away = CloseFrame {
        code: 1001,
        reason: "server shutting down".into(),
    };
    loop {
        if *shutdown.borrow() {
            let _ = socket.send(Message::Close(Some(going_away))).await;
            return;
        }
        // Status first, then logs: a finished job's last lines are always read after it ended.
        let done = match state.store.job(job_id).await {
            Ok(Some(job)) => job.status.is_terminal(),
            _ => true,
        };
        let logs = match state.store.job_logs_after(job_id, cursor).await {
            Ok(l) => l,
            Err(e) => {
                // During shutdown the store closes under us: that is not an error of the job.
                let frame = if *shutdown.borrow() {
                    going_away
                } else {
                    CloseFrame {
                        code: 1011,
                        reason: e.to_string().into(),
                    }
                };
                let _ = socket.send(Message::Close(Some(frame))).await;
                return;
            }
        };
        for log in logs {
            cursor = log.id;
            let text = serde_json::to_string(&log).unwrap_or_default();
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
        if done {
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: 1000,
                    reason: "done".into(),
                })))
                .await;
            return;
        }
        // Re-read at least this often, whatever else the bus carries meanwhile.
        let reread = tokio::time::sleep(Duration::from_secs(2));
        tokio::pin!(reread);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(Event::Job(id)) if id == job_id => break,
                    Ok(_) => continue,
                    Err(_) => break,
                },
                _ = ping.tick() => {
                    if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                        return;
                    }
                }
                msg = socket.recv() => match msg {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => {}
                },
                () = &mut reread => break,
                () = crate::server::stopping(&mut shutdown) => {
                    let _ = socket.send(Message::Close(Some(going_away))).await;
                    return;
                }
            }
        }
    }
}

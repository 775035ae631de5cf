//! Watching a workspace: the full `Workspace` on connect and after every change, over
//! Server-Sent Events (`/watch`) or the one-way websocket (`/watch-ws`).

use std::sync::Arc;

use coder_core::model::{Response, Workspace};
use futures_util::StreamExt;
use reqwest::header;
use serde::Deserialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::reconnect::{Ended, Link, Source};
use super::subscription::Live;
use super::websocket::{decode, relay};
use crate::error::ApiError;
use crate::http::{Http, SESSION_TOKEN_HEADER, content_type};
use crate::{Client, Error, Result};

/// Snapshots of one workspace, newest last.
pub type WorkspaceStream = Live<Workspace>;

/// Starts watching `id`.
pub(crate) fn watch_workspace(
    client: &Client,
    id: Uuid,
    websocket: bool,
) -> Result<WorkspaceStream> {
    let http = client.http.clone();
    if websocket {
        Live::spawn(WatchWs {
            http,
            path: format!("/api/v2/workspaces/{id}/watch-ws"),
        })
    } else {
        Live::spawn(WatchSse {
            http,
            path: format!("/api/v2/workspaces/{id}/watch"),
        })
    }
}

/// One event of either transport: Coder's `ServerSentEvent {type, data}`.
#[derive(Debug, Deserialize)]
struct ServerSentEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: serde_json::Value,
}

/// What an event means for the stream.
fn interpret(http: &Http, path: &str, kind: &str, data: &str) -> Option<Result<Workspace>> {
    match kind {
        "data" => Some(decode(http, path, data)),
        "error" => {
            let response: Response =
                serde_json::from_str(data).unwrap_or_else(|_| Response::message(data));
            let api = ApiError {
                status: 500,
                method: "GET".into(),
                url: http.url(path).map(|u| u.to_string()).unwrap_or_default(),
                message: response.message,
                detail: response.detail,
                validations: response.validations,
            };
            Some(Err(Error::Server(Box::new(api))))
        }
        _ => None, // ping
    }
}

struct WatchWs {
    http: Arc<Http>,
    path: String,
}

impl Source for WatchWs {
    type Item = Workspace;

    async fn run(&mut self, tx: &mpsc::Sender<Result<Workspace, Error>>, link: &Link) -> Ended {
        let (http, path) = (&self.http, self.path.as_str());
        relay(http, path, &[], tx, link, false, |text| {
            match decode::<ServerSentEvent>(http, path, text) {
                Ok(event) => interpret(http, path, &event.kind, &event.data.to_string()),
                Err(e) => Some(Err(e)),
            }
        })
        .await
    }
}

struct WatchSse {
    http: Arc<Http>,
    path: String,
}

impl Source for WatchSse {
    type Item = Workspace;

    async fn run(&mut self, tx: &mpsc::Sender<Result<Workspace, Error>>, link: &Link) -> Ended {
        let Ok(url) = self.http.url(&self.path) else {
            return Ended::Refused(Error::InvalidInput(self.path.clone()));
        };
        let mut request = self
            .http
            .stream_client
            .get(url.clone())
            .header(header::ACCEPT, "text/event-stream");
        if let Some(token) = self.http.token() {
            request = request.header(SESSION_TOKEN_HEADER, token);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(_) => return Ended::Dropped { delivered: 0 },
        };
        let status = response.status();
        if !status.is_success() {
            let content_type = content_type(response.headers());
            let body = response.bytes().await.unwrap_or_default();
            if status.is_server_error() {
                return Ended::Dropped { delivered: 0 };
            }
            let api =
                ApiError::from_body(status.as_u16(), "GET", url.as_str(), &content_type, &body);
            return Ended::Refused(Error::from_status(api));
        }
        link.up();
        let mut body = response.bytes_stream();
        let mut parser = SseParser::default();
        let mut delivered = 0;
        loop {
            let chunk = tokio::select! {
                c = body.next() => c,
                () = tx.closed() => return Ended::Closed,
            };
            let Some(Ok(chunk)) = chunk else {
                return Ended::Dropped { delivered };
            };
            for (kind, data) in parser.feed(&chunk) {
                if let Some(item) = interpret(&self.http, &self.path, &kind, &data) {
                    delivered += 1;
                    if tx.send(item).await.is_err() {
                        return Ended::Closed;
                    }
                }
            }
        }
    }
}

/// An incremental `text/event-stream` parser: `event:` and `data:` lines, dispatched on a
/// blank line; comments and other fields ignored.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    pending: Vec<u8>,
    event: String,
    data: Vec<String>,
}

impl SseParser {
    /// Feeds bytes; returns the `(event, data)` pairs completed by them.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<(String, String)> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() || !self.event.is_empty() {
                    let kind = if self.event.is_empty() {
                        "message".to_owned()
                    } else {
                        std::mem::take(&mut self.event)
                    };
                    out.push((kind, self.data.join("\n")));
                    self.data.clear();
                }
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => self.event = value.to_owned(),
                "data" => self.data.push(value.to_owned()),
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::SseParser;

    #[test]
    fn sse_events_are_split_across_chunks_exactly_as_coder_frames_them() {
        let mut p = SseParser::default();
        assert!(p.feed(b"event: ping\n").is_empty());
        assert_eq!(p.feed(b"\nevent: da"), [("ping".to_owned(), String::new())]);
        assert!(p.feed(b"ta\ndata: {\"name\":").is_empty());
        assert_eq!(
            p.feed(b"\"dev\"}\n\n: comment\n\n"),
            [("data".to_owned(), "{\"name\":\"dev\"}".to_owned())]
        );
        assert_eq!(
            p.feed(b"event: error\r\ndata: {\"message\":\"x\"}\r\n\r\n"),
            [("error".to_owned(), "{\"message\":\"x\"}".to_owned())]
        );
    }
}

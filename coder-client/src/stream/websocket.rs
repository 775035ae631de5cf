//! Opening an authenticated websocket to the server, with HTTP refusals mapped to [`Error`].

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::reconnect::{Ended, Link};
use crate::error::ApiError;
use crate::http::{Http, SESSION_TOKEN_HEADER};
use crate::{Error, Result};

/// A connected websocket.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a websocket did not open.
pub(crate) enum OpenError {
    /// The server answered with an HTTP error it will repeat (4xx): give up.
    Refused(Error),
    /// Anything transient (connect failure, 5xx): retry later.
    Transient,
}

/// Messages larger than this are refused (Coder's SDK reads at most 4 MiB per message).
const MAX_MESSAGE: usize = 4 << 20;

/// Opens `path` as a websocket with the session token in the handshake.
pub(crate) async fn open(
    http: &Arc<Http>,
    path: &str,
    query: &[(&str, String)],
) -> std::result::Result<Socket, OpenError> {
    let url = http
        .websocket_url(path, query)
        .map_err(OpenError::Refused)?;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| OpenError::Refused(Error::InvalidInput(e.to_string())))?;
    if let Some(token) = http.token() {
        let value = HeaderValue::from_str(&token)
            .map_err(|e| OpenError::Refused(Error::InvalidInput(e.to_string())))?;
        request.headers_mut().insert(SESSION_TOKEN_HEADER, value);
    }
    if let Ok(agent) = HeaderValue::from_str(&http.user_agent) {
        request.headers_mut().insert("User-Agent", agent);
    }
    for (name, value) in &http.headers {
        request.headers_mut().append(name.clone(), value.clone());
    }
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let connector = Connector::Rustls(http.tls.clone());
    match tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(config),
        false,
        Some(connector),
    )
    .await
    {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = response.body().clone().unwrap_or_default();
            let api = ApiError::from_body(status, "GET", url.as_str(), &content_type, &body);
            if status >= 500 {
                Err(OpenError::Transient)
            } else {
                Err(OpenError::Refused(Error::from_status(api)))
            }
        }
        Err(_) => Err(OpenError::Transient),
    }
}

/// Decodes one JSON text message, naming the URL on failure.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    http: &Http,
    path: &str,
    text: &str,
) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Decode {
        method: "GET".into(),
        url: http
            .url(path)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| path.to_owned()),
        message: e.to_string(),
    })
}

/// Opens `path` and relays its text messages through `on_text` into `tx` until the connection
/// ends. A normal close ends the stream when `normal_close_finishes` (a finished job's logs);
/// otherwise every end is a drop to reconnect from.
pub(crate) async fn relay<T: Send>(
    http: &Arc<Http>,
    path: &str,
    query: &[(&str, String)],
    tx: &mpsc::Sender<Result<T>>,
    link: &Link,
    normal_close_finishes: bool,
    mut on_text: impl FnMut(&str) -> Option<Result<T>> + Send,
) -> Ended {
    let mut socket = match open(http, path, query).await {
        Ok(socket) => socket,
        Err(OpenError::Refused(e)) => return Ended::Refused(e),
        Err(OpenError::Transient) => return Ended::Dropped { delivered: 0 },
    };
    link.up();
    let mut delivered = 0;
    loop {
        let message = tokio::select! {
            m = socket.next() => m,
            () = tx.closed() => return Ended::Closed,
        };
        match message {
            Some(Ok(Message::Text(text))) => {
                let Some(item) = on_text(&text) else { continue };
                delivered += usize::from(item.is_ok());
                if tx.send(item).await.is_err() {
                    return Ended::Closed;
                }
            }
            Some(Ok(Message::Close(frame))) => {
                let normal = frame.as_ref().is_none_or(|f| f.code == CloseCode::Normal);
                return if normal && normal_close_finishes {
                    Ended::Finished
                } else {
                    Ended::Dropped { delivered }
                };
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Ended::Dropped { delivered },
        }
    }
}

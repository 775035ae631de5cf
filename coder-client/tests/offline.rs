//! What a caller sees before any server answers: bad URLs, refused connections, bad names.

use coder_client::{Client, Error};

#[test]
fn a_url_that_is_not_http_is_refused_up_front() {
    let err = Client::new("ftp://example.com").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: ftp://example.com: not an http(s) URL"
    );
    assert!(matches!(
        Client::new("not a url"),
        Err(Error::InvalidInput(_))
    ));
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error_naming_the_request() {
    // Bind then drop a listener: nothing listens on that port afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(&format!("http://127.0.0.1:{port}")).unwrap();
    match client.users().me().await {
        Err(Error::Transport { method, url, .. }) => {
            assert_eq!(method, "GET");
            assert_eq!(url, format!("http://127.0.0.1:{port}/api/v2/users/me"));
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn names_that_would_change_the_path_are_rejected_without_a_request() {
    let client = Client::new("http://127.0.0.1:9").unwrap();
    for bad in ["../admin", "a/b", "x?y", "", "with space"] {
        let err = client.users().get(bad).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{bad:?}: {err}");
    }
}

#[test]
fn streams_need_a_runtime_and_say_so() {
    let client = Client::new("http://127.0.0.1:9").unwrap();
    let err = client
        .builds()
        .follow_logs(uuid::Uuid::nil(), None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: streams need a tokio runtime"
    );
}

//! Start-up and shutdown: open the store, recover jobs a dead process left running, start the
//! job runner, serve HTTP until a shutdown signal, then stop gracefully.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::config::Config;
use crate::error::Result;
use crate::pubsub::Events;
use crate::state::AppState;
use crate::store::Store;

/// Opens the configured store: PostgreSQL when a URL is set, else SQLite in the cache dir.
pub async fn open_store(config: &Config) -> Result<Store> {
    match &config.postgres_url {
        Some(url) => Store::open_postgres(url).await,
        None => Store::open_sqlite(&config.sqlite_path()).await,
    }
}

/// Builds the shared state for `listener`'s address.
pub async fn build_state(listener: &TcpListener, config: Config) -> Result<AppState> {
    let store = open_store(&config).await?;
    let org = store.ensure_default_org().await?;
    let deployment_id = store
        .site_value("deployment_id", || uuid::Uuid::new_v4().to_string())
        .await?;
    let access_url = match &config.access_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let addr = listener
                .local_addr()
                .map_err(|e| crate::error::Error::Internal(e.to_string()))?;
            format!("http://{addr}")
        }
    };
    let password_checks = Arc::new(crate::passwords::PasswordChecks::new(
        config.password_checks,
        config.password_check_queue,
    )?);
    let jobs_queued = Arc::new(Notify::new());
    let mut events = Events::new();
    if let (Some(url), Some(pool)) = (&config.postgres_url, store.pg_pool()) {
        events
            .bridge_postgres(url, pool.clone(), Arc::clone(&jobs_queued))
            .await?;
    }
    let mut provisioners = crate::provisioners::Provisioners::default();
    provisioners.register(Arc::new(crate::process::ProcessProvisioner::new(
        config.workspaces_dir(),
        config.stop_timeout,
        config.template_limits,
    )));
    let openapi = Arc::new(crate::openapi::document().map_err(crate::error::Error::Internal)?);
    Ok(AppState {
        shutdown: tokio::sync::watch::channel(false).1,
        streams: Arc::default(),
        openapi,
        provisioners,
        store,
        access_url,
        deployment_id,
        default_org_id: org.id,
        events,
        jobs_queued,
        password_checks,
        config: Arc::new(config),
    })
}

/// Serves the API on `listener` until SIGINT or SIGTERM.
pub async fn serve(listener: TcpListener, config: Config) -> Result<()> {
    serve_with_shutdown(listener, config, shutdown_signal()).await
}

/// Serves the API on `listener` until `shutdown` resolves; in-flight requests finish first.
pub async fn serve_with_shutdown(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let state = build_state(&listener, config).await?;
    serve_state(listener, state, shutdown).await
}

/// Serves `state` (from [`build_state`] for this listener) until `shutdown` resolves; for
/// callers that keep a handle on the state, such as tests reading
/// [`AppState::password_checks`].
pub async fn serve_state(
    listener: TcpListener,
    mut state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    state.shutdown = stop_rx.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let recovered = crate::runner::recover_lapsed_jobs(&state, true).await?;
    if recovered > 0 {
        tracing::warn!(
            recovered,
            "failed jobs left running by a previous server process"
        );
    }
    let runner = crate::runner::Runner::start(state.clone());
    tokio::spawn(expire_login_attempts(state.clone()));
    let app = crate::api::router(state.clone());
    let mut stopped = stop_rx.clone();
    let limits = crate::connections::ConnectionLimits {
        max_connections: state.config.http_max_connections,
        read_header_timeout: state.config.http_read_header_timeout,
    };
    let serving = crate::connections::serve(listener, app, limits, stop_rx);
    // Streams (watch, log follow) end themselves on shutdown; anything still open after the
    // grace period does not keep the process alive.
    let streams = state.streams.clone();
    tokio::select! {
        () = async {
            // Connections, upgraded streams included, have closed; each stream sent its
            // close frame.
            serving.await;
            streams.wait_idle().await;
        } => {}
        () = async {
            stopping(&mut stopped).await;
            tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        } => {
            tracing::warn!("connections still open 10 s after shutdown began; closing them");
        }
    }
    runner.shutdown(std::time::Duration::from_secs(5)).await;
    state.store.close().await;
    Ok(())
}

/// Deletes login-attempt counts whose window has passed, once a window, until shutdown: the
/// table holds at most one window's worth of keys.
async fn expire_login_attempts(state: AppState) {
    let window = state.config.login_window;
    let mut stop = state.shutdown.clone();
    loop {
        tokio::select! {
            () = tokio::time::sleep(window) => {}
            () = stopping(&mut stop) => return,
        }
        let now = chrono::Utc::now();
        if let Err(e) = state.store.delete_expired_login_attempts(now, window).await {
            tracing::warn!(error = %e, "expiring login attempts");
        }
    }
}

/// Resolves once the server's shutdown flag (see [`AppState::shutdown`]) is set.
pub async fn stopping(flag: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = flag.wait_for(|s| *s).await;
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

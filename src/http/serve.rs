//! `audit-harness serve`: any engine (built-in, process, Python module)
//! served as a real HTTP service on `axum`, so that it can be gated and
//! benchmarked the way clients reach it. The tests serve the mutant zoo
//! with [`Server::start`] and gate it over HTTP.
//!
//! `GET /audit-events?from_ts=..&to_ts=..[&actor_id=..][&action=..]&page=..&page_size=..`
//! answers 200 with a JSON array of events; an engine's error is a 500 with
//! `{"error": "..."}`, a query that does not parse a 400, another path a
//! 404. Each query runs where it was received, in `block_in_place` (engines
//! block on disk; the hop to tokio's blocking pool cost a third of the
//! round trip on loopback).
//! [`Server::stop`] shuts down gracefully: no new connections, requests in
//! progress finish (for at most [`DRAIN`]), then the counts are returned.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use audit_engines::{Query, SharedEngine};
use axum::extract::rejection::QueryRejection;
use axum::extract::{self, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use serde::Deserialize;

/// How long a stopping server lets requests in progress finish.
pub const DRAIN: Duration = Duration::from_secs(5);

/// What a server answered, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServeCounts {
    /// Pages answered (200).
    pub served: u64,
    /// Queries the engine answered with an error (500).
    pub errors: u64,
    /// Requests refused: a query that does not parse, another path (400, 404).
    pub rejected: u64,
}

#[derive(Default)]
struct Counters {
    served: AtomicU64,
    errors: AtomicU64,
    rejected: AtomicU64,
}

impl Counters {
    fn read(&self) -> ServeCounts {
        ServeCounts {
            served: self.served.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }
}

struct Shared {
    engine: SharedEngine,
    counters: Counters,
}

/// A running server: one engine on one address.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The query string's fields: the contract's query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    from_ts: i64,
    to_ts: i64,
    actor_id: Option<i64>,
    action: Option<String>,
    page: i64,
    page_size: i64,
}

/// How the server's runtime runs: its threads, and the CPU they are pinned to.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// The runtime's threads (tokio's worker threads; default: one per CPU).
    pub threads: Option<usize>,
    /// Pin every runtime thread to this CPU (`http-cost` keeps the server on
    /// one core and the load on the other).
    pub cpu: Option<usize>,
}

impl Server {
    /// Binds `listen` (`HOST:PORT`; port 0 picks a free one) and serves
    /// `engine` on it until [`Server::stop`].
    pub fn start(engine: SharedEngine, listen: &str) -> Result<Server, String> {
        Server::start_with(engine, listen, ServeOptions::default())
    }

    /// [`Server::start`] with the runtime's threads chosen.
    pub fn start_with(engine: SharedEngine, listen: &str, opts: ServeOptions) -> Result<Server, String> {
        let listener = std::net::TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_all().thread_name("serve");
        if let Some(n) = opts.threads {
            builder.worker_threads(n.max(1));
        }
        if let Some(cpu) = opts.cpu {
            builder.on_thread_start(move || {
                let _ = super::affinity::pin_to(cpu);
            });
        }
        let runtime = builder
            .build()
            .map_err(|e| format!("cannot start the server's runtime: {e}"))?;
        let shared = Arc::new(Shared {
            engine,
            counters: Counters::default(),
        });
        let app = Router::new()
            .route(super::PATH, get(list))
            .fallback(not_found)
            .with_state(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = {
            let _entered = runtime.enter();
            let listener =
                tokio::net::TcpListener::from_std(listener).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            runtime.spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
            })
        };
        Ok(Server {
            addr,
            shared,
            runtime: Some(runtime),
            task: Some(task),
            stop: Some(stop),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of its endpoint.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, super::PATH)
    }

    /// The counts so far.
    pub fn counts(&self) -> ServeCounts {
        self.shared.counters.read()
    }

    /// Stops accepting, lets requests in progress finish (at most
    /// [`DRAIN`]), and returns the counts; an error if serving failed.
    pub fn stop(mut self) -> Result<ServeCounts, String> {
        self.shutdown()?;
        Ok(self.counts())
    }

    fn shutdown(&mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let (Some(runtime), Some(task)) = (self.runtime.take(), self.task.take()) else {
            return Ok(());
        };
        let ended = runtime.block_on(async { tokio::time::timeout(DRAIN, task).await });
        runtime.shutdown_timeout(Duration::from_millis(100));
        match ended {
            Ok(Ok(Ok(()))) | Err(_) => Ok(()),
            Ok(Ok(Err(e))) => Err(format!("serving on {} failed: {e}", self.addr)),
            Ok(Err(e)) => Err(format!("serving on {} failed: {e}", self.addr)),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    json(
        status,
        serde_json::to_vec(&serde_json::json!({ "error": message })).unwrap_or_default(),
    )
}

async fn list(State(s): State<Arc<Shared>>, params: Result<extract::Query<Params>, QueryRejection>) -> Response {
    let p = match params {
        Ok(extract::Query(p)) => p,
        Err(e) => {
            s.counters.rejected.fetch_add(1, Ordering::Relaxed);
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "{}; expected from_ts, to_ts, page, page_size (integers) and optionally actor_id (integer) and action",
                    e.body_text()
                ),
            );
        }
    };
    let q = Query {
        from_ts: p.from_ts,
        to_ts: p.to_ts,
        actor_id: p.actor_id,
        action: p.action,
        page: p.page,
        page_size: p.page_size,
    };
    // The engine blocks (disk reads): on this runtime thread, with the
    // runtime told so, which saves the hop to the blocking pool and back.
    let engine = s.engine.clone();
    let answer = tokio::task::block_in_place(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.query(&q)))
    });
    match answer {
        Ok(Ok(page)) => match serde_json::to_vec(&page.events) {
            Ok(body) => {
                s.counters.served.fetch_add(1, Ordering::Relaxed);
                json(StatusCode::OK, body)
            }
            Err(e) => {
                s.counters.errors.fetch_add(1, Ordering::Relaxed);
                error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("cannot encode the page: {e}"),
                )
            }
        },
        Ok(Err(e)) => {
            s.counters.errors.fetch_add(1, Ordering::Relaxed);
            error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
        }
        Err(panic) => {
            s.counters.errors.fetch_add(1, Ordering::Relaxed);
            let text = panic
                .downcast_ref::<&str>()
                .map(|t| t.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the engine panicked: {text}"),
            )
        }
    }
}

async fn not_found(State(s): State<Arc<Shared>>, uri: axum::http::Uri) -> Response {
    s.counters.rejected.fetch_add(1, Ordering::Relaxed);
    error(
        StatusCode::NOT_FOUND,
        &format!("no such path {:?}: the endpoint is GET {}", uri.path(), super::PATH),
    )
}

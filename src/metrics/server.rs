//! The HTTP side: GET /metrics and nothing else, on one thread. Clients
//! are served concurrently as tasks of a single-threaded runtime, at most
//! MAX_CLIENTS at once (more wait in the kernel's accept queue), each with
//! a bounded request head and a deadline, so slow or hostile clients cost
//! neither threads nor the event path (which never touches this thread).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Connections served at once. They share one encoded body, so each
/// costs little memory; the open-file limit is raised to fit them.
pub const MAX_CLIENTS: usize = 512;
/// The request head (request line and headers) must arrive within this.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection is closed this long after it was accepted, whatever it is
/// doing (a client that does not read its answer included): a scrape
/// takes milliseconds; Prometheus opens another.
pub const CONNECTION_DEADLINE: Duration = Duration::from_secs(10);
/// The largest request head read: hyper's smallest buffer. A scrape's is a
/// few hundred bytes; a longer one is answered 431 and closed.
pub const MAX_HEAD: usize = 8192;

/// The exposition, encoded once per state generation (a tick a second)
/// however many clients ask: a scrape costs a copy of a reference, and a
/// crowd of clients that never read holds one body between them.
pub struct Exposition {
    registry: Registry,
    generation: Box<dyn Fn() -> u64 + Send + Sync>,
    cached: Mutex<(u64, Option<Bytes>)>,
}

impl Exposition {
    pub fn new(registry: Registry, generation: Box<dyn Fn() -> u64 + Send + Sync>) -> Self {
        Exposition {
            registry,
            generation,
            cached: Mutex::new((0, None)),
        }
    }

    /// The current body: the cached one, or a fresh encoding when the
    /// state has moved on (concurrent callers wait for one encoding).
    pub fn body(&self) -> Result<Bytes, String> {
        let generation = (self.generation)();
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let (at, Some(body)) = &*cached {
            if *at == generation {
                return Ok(body.clone());
            }
        }
        let mut body = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut body)
            .map_err(|e| e.to_string())?;
        let body = Bytes::from(body);
        *cached = (generation, Some(body.clone()));
        Ok(body)
    }
}

/// Serves until the process ends.
pub async fn serve(listener: TcpListener, exposition: Arc<Exposition>) {
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        // a slot first: at the cap, new clients wait in the accept queue
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // EMFILE and the like: wait rather than spin
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let exposition = Arc::clone(&exposition);
        tokio::spawn(async move {
            let _slot = slot;
            let service = service_fn(move |request| answer(request, Arc::clone(&exposition)));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD)
                .serve_connection(TokioIo::new(stream), service);
            // errors are the client's (a reset, a bad request): nothing to do
            let _ = tokio::time::timeout(CONNECTION_DEADLINE, connection).await;
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    exposition: Arc<Exposition>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(respond(request.method(), request.uri().path(), || {
        exposition.body()
    }))
}

/// The response to a request for `path`; `metrics` encodes the exposition.
pub fn respond(
    method: &Method,
    path: &str,
    metrics: impl FnOnce() -> Result<Bytes, String>,
) -> Response<Full<Bytes>> {
    let plain = |status: StatusCode, text: String| {
        let mut r = Response::new(Full::new(Bytes::from(text)));
        *r.status_mut() = status;
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r
    };
    if path != "/metrics" {
        return plain(StatusCode::NOT_FOUND, "not found: try /metrics\n".into());
    }
    if method != Method::GET && method != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n".into());
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match metrics() {
        Ok(body) => {
            let mut r = Response::new(Full::new(body));
            r.headers_mut().insert(
                CONTENT_TYPE,
                // the text format 0.0.4, which promtool and every scraper read
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
        }
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Result<Bytes, String> {
        Ok(Bytes::from_static(b"x 1\n"))
    }

    #[test]
    fn only_metrics_is_served() {
        let r = respond(&Method::GET, "/metrics", ok);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[CONTENT_TYPE],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        assert_eq!(
            respond(&Method::HEAD, "/metrics", ok).status(),
            StatusCode::OK
        );
        for path in ["/", "/metrics/", "/Metrics", "/../metrics", "/favicon.ico"] {
            let r = respond(&Method::GET, path, || panic!("not encoded for {path}"));
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let r = respond(&Method::POST, "/metrics", || panic!("not encoded"));
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()[ALLOW], "GET, HEAD");
        let r = respond(&Method::GET, "/metrics", || Err("bad".into()));
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn the_body_is_encoded_once_a_generation() {
        use prometheus::core::{AtomicU64, GenericCounter};
        use std::sync::atomic::{AtomicU64 as Generation, Ordering};
        let registry = Registry::new();
        let counter = GenericCounter::<AtomicU64>::new("c_total", "help").unwrap();
        registry.register(Box::new(counter.clone())).unwrap();
        let generation = Arc::new(Generation::new(1));
        let g = Arc::clone(&generation);
        let exposition = Exposition::new(registry, Box::new(move || g.load(Ordering::Relaxed)));
        let first = exposition.body().unwrap();
        assert!(String::from_utf8_lossy(&first).contains("c_total 0"));
        counter.inc();
        // the same generation: the same bytes, not encoded again
        let again = exposition.body().unwrap();
        assert_eq!(again.as_ptr(), first.as_ptr());
        assert!(String::from_utf8_lossy(&again).contains("c_total 0"));
        generation.store(2, Ordering::Relaxed);
        let next = exposition.body().unwrap();
        assert!(String::from_utf8_lossy(&next).contains("c_total 1"));
    }
}

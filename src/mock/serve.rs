//! Serving the mock over HTTP/1.1 with a header-read and a request timeout.

use std::future::Future;
use std::io;
use std::task::Poll;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tower_layer::Layer;

/// How long [`serve`] waits for a client; see [`ServeOptions::default`].
#[derive(Clone, Copy, Debug)]
pub struct ServeOptions {
    header_read_timeout: Duration,
    request_timeout: Duration,
}

impl Default for ServeOptions {
    /// Headers within 10 s, an answer within 30 s.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl ServeOptions {
    /// How long a client may take to send a request's headers (hyper's HTTP/1
    /// `header_read_timeout`), counted from when the server starts waiting for them: the
    /// connection's opening, or the end of the previous answer on a kept-alive connection, so an
    /// idle connection is closed after it too. The connection is closed without an answer.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a request may take from its headers to its answer, body included (tower-http's
    /// [`TimeoutLayer`]). Past it the answer is `408 Request Timeout` with an empty body, and the
    /// connection is closed if the body was not read to its end.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
}

/// Serves `router` (the mock's [`router`](super::router), or any axum router) on `listener` until the process
/// ends: HTTP/1.1, with `options`' header-read and request timeouts. This is what
/// `examples/mock_providers.rs` runs; see [`serve_with_shutdown`] to stop it.
pub async fn serve(listener: TcpListener, router: Router, options: ServeOptions) {
    serve_with_shutdown(listener, router, options, std::future::pending()).await;
}

/// [`serve`], until `signal` completes: then no connection is accepted any more, idle ones are
/// closed, requests in flight are answered, and it returns once every connection has ended,
/// which the two timeouts bound.
///
/// HTTP/1.1 only, as the vendors' clients speak it: hyper has no header-read timeout for HTTP/2.
/// An error accepting a connection (too many open files, say) is logged and the accept loop
/// retries after a second; it never stops the server.
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    signal: F,
) where
    F: Future<Output = ()> + Send,
{
    let timeout =
        TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, options.request_timeout);
    let service = TowerToHyperService::new(timeout.layer(router));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let accepted = std::future::poll_fn(|cx| {
            if signal.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            listener.poll_accept(cx).map(Some)
        })
        .await;
        let stream = match accepted {
            None => break,
            Some(Ok((stream, _))) => stream,
            Some(Err(error)) => {
                if !matches!(
                    error.kind(),
                    io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                ) {
                    tracing::warn!(%error, "mock server: accepting a connection failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
        };
        let connection = http.serve_connection(TokioIo::new(stream), service.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A connection's error (the client went away, a header timeout) ends that
            // connection only.
            let _ = connection.await;
        });
    }
    graceful.shutdown().await;
}

//! How the examples serve an axum router: HTTP/1.1 with a header-read timeout (hyper's) and a
//! request timeout (tower-http's), the settings of `tower_hmac::mock::serve` written out for an
//! application that does not enable the `mock` feature. `axum::serve` has no header-read timeout:
//! a client sending half its headers, or a body slower than its `Content-Length`, would hold a
//! connection open for as long as it wished.
//!
//! Included by the examples with `#[path = "support/serve.rs"] mod serve;` (not an example of its
//! own: Cargo only takes `examples/*.rs` and `examples/*/main.rs` as examples).

use std::io;
use std::time::Duration;

use axum::Router;
use http::StatusCode;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::timeout::TimeoutLayer;

/// How long a client may take to send a request's headers, or stay idle between two requests;
/// the connection is then closed without an answer.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request may take from its headers to its answer, body included; past it the
/// answer is `408 Request Timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, router: Router) {
    let timeout = TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT);
    let service = TowerToHyperService::new(timeout.layer(router));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Too many open files, say: wait for some to close rather than stop serving.
                if !matches!(
                    error.kind(),
                    io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                ) {
                    eprintln!("accept: {error}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
        };
        let connection = http.serve_connection(TokioIo::new(stream), service.clone());
        tokio::spawn(async move {
            // A connection's error (the client went away, a header timeout) ends it alone.
            let _ = connection.await;
        });
    }
}

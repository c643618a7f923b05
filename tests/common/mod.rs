//! Loopback servers and a client shared by the integration tests.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// Serves an axum router on a free loopback port.
pub async fn serve_axum(router: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// Serves an axum router (the mock's) on a free loopback port as the mock example does:
/// `tower_hmac::mock::serve` with its default timeouts.
pub async fn serve_mock(router: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = tower_hmac::mock::ServeOptions::default();
    tokio::spawn(tower_hmac::mock::serve(listener, router, options));
    addr
}

/// Serves a tower service with plain hyper 1 (HTTP/1.1 and HTTP/2) on a free loopback port.
pub async fn serve_hyper<S, B>(service: S) -> SocketAddr
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// What came back from a loopback call.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An HTTP/1.1 client for loopback calls.
pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends `request` (a path-only URI is completed with `addr`) and reads the whole reply.
pub async fn send(addr: SocketAddr, mut request: Request<Full<Bytes>>) -> Reply {
    if request.uri().authority().is_none() {
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        *request.uri_mut() = format!("http://{addr}{path}").parse().unwrap();
    }
    let response = client().request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A Humanos `GET /v0/processes` (no body) from `api_key`, signed now with `secret`.
pub fn humanos_get(api_key: &str, secret: &str) -> Request<Full<Bytes>> {
    let ts = now_ms();
    let secret = tower_hmac::Secret::new(secret).unwrap();
    Request::get("/v0/processes")
        .header("authorization", format!("Bearer {api_key}"))
        .header("x-timestamp", ts.to_string())
        .header(
            "x-signature",
            tower_hmac::humanos::signature(&secret, ts, b""),
        )
        .body(Full::default())
        .unwrap()
}

pub mod ed25519;
pub mod examples;
pub mod grpc;
pub mod redis_server;
pub mod sdk_server;
pub mod webhooks;

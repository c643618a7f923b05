//! A tonic gRPC service (the standard health service) behind the Proficient layer, and a client
//! sending the Proficient headers as gRPC metadata. It makes one accepted and one refused call
//! and prints what happened.
//!
//! ```text
//! cargo run --example tonic_health
//! ```

use std::time::Duration;

use tonic::Code;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tower_hmac::proficient::{self, ProficientHmac, ProficientVerifyLayer};
use tower_hmac::{Key, MemoryKeyStore, Secret};

const API_KEY: &str = "pk_40NDqyJqjBe6DJyLn44HBEgi0loTunwLdjWHhcOUGONSkpomQx0qInkWLtu0ouwSr6qqE7HQ";
const SECRET: &str =
    "hsec_mFLSkjGK6XLK1TUxL8wgiXrjwZCqcfmgbXTC0JmZFooSl9rQlzIrpsQHNor4guw2YOUP7vWA";
const USER: &str = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let secret = Secret::new(SECRET)?;
    let keys = MemoryKeyStore::new()
        .with(Key::new(API_KEY, secret.clone()).with_policy(ProficientHmac::Required));

    // The server: the Proficient layer in front of every gRPC service. It reads headers only, so
    // streaming calls stream through it.
    //
    // Timeouts: `timeout` bounds every call, from its headers to its answer (CANCELLED past it;
    // a shorter `grpc-timeout` sent by the client wins). tonic serves HTTP/2, for which hyper has
    // no header-read timeout: a call's headers arrive as frames on a connection that stays open
    // between calls. Keepalive pings close a connection whose peer stopped answering; a peer
    // that answers them keeps an idle connection open (`max_connection_age` would bound it).
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(
        tonic::transport::Server::builder()
            .timeout(Duration::from_secs(30))
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)))
            .layer(ProficientVerifyLayer::new(keys))
            .add_service(health)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    println!("gRPC health service on {addr}, behind the Proficient layer");

    let channel = Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let mut client = HealthClient::new(channel);
    let check = |metadata: MetadataMap| {
        tonic::Request::from_parts(metadata, Default::default(), HealthCheckRequest::default())
    };

    // Accepted: the user's three headers, from the crate's signer, as metadata.
    let hmac = proficient::user_hmac(&secret, USER);
    let headers = proficient::sign_request(API_KEY, USER, Some(&hmac))?;
    let response = client
        .check(check(MetadataMap::from_headers(headers)))
        .await?;
    println!("signed call: {:?}", response.into_inner());

    // Refused: no HMAC, which this project requires. gRPC clients see UNAUTHENTICATED.
    let headers = proficient::sign_request(API_KEY, USER, None)?;
    let status = client
        .check(check(MetadataMap::from_headers(headers)))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated);
    println!("unsigned call: {:?} {:?}", status.code(), status.message());
    Ok(())
}

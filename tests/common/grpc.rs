//! tonic 0.14 over loopback: tonic's health service behind the Humanos layer, and a health client
//! whose calls the crate's `SignLayer` signs as a Humanos client does.

use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tower::ServiceBuilder;
use tower_hmac::humanos::{HumanosSigner, HumanosVerifyLayer};
use tower_hmac::sign::{Sign, SignLayer, SignedBody};

/// The service the health service reports as serving.
pub const SERVICE: &str = "demo";

/// A signed call: the crate's `SignLayer` signs it, then the signed body goes back into tonic's
/// body type for the channel.
pub type SignedGrpc = Sign<
    tower::util::MapRequest<
        Channel,
        fn(http::Request<SignedBody<tonic::body::Body>>) -> http::Request<tonic::body::Body>,
    >,
    HumanosSigner,
>;

/// Serves tonic's health service ([`SERVICE`] serving) behind `layer` on a free loopback port,
/// and a channel connected to it.
pub async fn serve_health(layer: HumanosVerifyLayer) -> Channel {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(SERVICE, tonic_health::ServingStatus::Serving)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(layer)
            .add_service(health)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// A health client over `channel` whose calls `signer` signs.
pub fn signed_client(channel: Channel, signer: HumanosSigner) -> HealthClient<SignedGrpc> {
    let to_tonic: fn(_) -> _ =
        |req: http::Request<SignedBody<tonic::body::Body>>| req.map(tonic::body::Body::new);
    let service = ServiceBuilder::new()
        .layer(SignLayer::new(signer))
        .map_request(to_tonic)
        .service(channel);
    HealthClient::new(service)
}

/// The health check of [`SERVICE`].
pub fn check() -> HealthCheckRequest {
    HealthCheckRequest {
        service: SERVICE.into(),
    }
}

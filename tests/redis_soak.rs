//! A soak test of the Redis replay store on a Redis Cluster, bounded to about a minute: two
//! Inqud layer instances share a three-master cluster while a client sends a few thousand
//! requests with unique salts, plus deliberate duplicates (two copies at once on the two
//! instances, and copies sent again later), and one master is frozen (`SIGSTOP`) then resumed in
//! the middle.
//!
//! It asserts what must hold whatever the timing, not how fast anything is:
//!
//! - no salt is accepted twice, and every answer is 200, `401 replayed` or 503;
//! - every request on the frozen master's tokens sent and answered while it was frozen got 503;
//! - once a check on the frozen master's tokens passes again (within 20 s of the thaw), every
//!   request sent is decided normally: no 503, and a salt sent only from then on is accepted
//!   exactly once;
//! - every key left in the cluster has a TTL.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use common::redis_server::RedisCluster;
use common::{now_ms, send, serve_axum};
use http::{Request, StatusCode};
use http_body_util::Full;
use tower_hmac::inqud::{self, InqudCaller, InqudVerifyLayer};
use tower_hmac::replay::RedisReplayStore;
use tower_hmac::{Key, MemoryKeyStore, ReplayKey, Secret, Verified};

const SECRET: &str = "soak-secret-soak-secret-soak-secret";
const REPLAYED: &str = r#"{"error":"replayed","message":"this request was already used"}"#;
/// The client's schedule: how long it sends, how many workers, how often each sends.
const RUN: Duration = Duration::from_secs(40);
const WORKERS: usize = 8;
const PACE: Duration = Duration::from_millis(60);
/// When the master is frozen, and for how long (less than the cluster's 5 s node timeout: the
/// master is unanswering, not failed over).
const FREEZE_AT: Duration = Duration::from_secs(12);
const FROZEN_FOR: Duration = Duration::from_secs(4);

/// One request as the client saw it.
struct Sent {
    salt: String,
    token: usize,
    start: Instant,
    end: Instant,
    status: StatusCode,
    body: Bytes,
}

fn app(store: RedisReplayStore, tokens: &[String]) -> Router {
    let keys = MemoryKeyStore::new();
    for token in tokens {
        keys.insert(Key::new(token.as_str(), Secret::new(SECRET).unwrap()));
    }
    Router::new()
        .route(
            "/pay",
            post(|caller: Verified<InqudCaller>| async move { caller.key_id().to_owned() }),
        )
        .layer(InqudVerifyLayer::new(keys).replay_store(store))
}

fn signed(token: &str, salt: &str) -> Request<Full<Bytes>> {
    let body = format!("{{\"salt\":\"{salt}\"}}");
    let sig = inqud::signature(&Secret::new(SECRET).unwrap(), body.as_bytes(), salt);
    Request::post("/pay")
        .header("x-token-api-id", token)
        .header("x-hmac-sha256-signature", sig)
        .header("x-salt", salt)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// The master holding `token`'s records (the slot of its hash tag).
fn master_of(cluster: &RedisCluster, token: &str) -> usize {
    let tag = format!("{{{:016x}}}", ReplayKey::new("inqud", token, b"").owner());
    match cluster.node(0).command(&["CLUSTER", "KEYSLOT", &tag]) {
        redis::Value::Int(slot) => cluster.master_of(slot as u16),
        other => panic!("KEYSLOT: {other:?}"),
    }
}

struct Client {
    addrs: [SocketAddr; 2],
    tokens: Vec<String>,
    log: Mutex<Vec<Sent>>,
}

impl Client {
    async fn send(&self, instance: usize, token: usize, salt: &str) {
        let start = Instant::now();
        let reply = send(self.addrs[instance], signed(&self.tokens[token], salt)).await;
        self.log.lock().unwrap().push(Sent {
            salt: salt.to_owned(),
            token,
            start,
            end: Instant::now(),
            status: reply.status,
            body: reply.body,
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_a_cluster_through_a_frozen_master() {
    let cluster = RedisCluster::start();
    // Twelve tokens, at least three on each master: their records spread over the cluster.
    let mut tokens = Vec::new();
    let mut per_master = [0; 3];
    for i in 0.. {
        let token = format!("TKN-soak-{i}");
        let master = master_of(&cluster, &token);
        if per_master[master] < 4 {
            per_master[master] += 1;
            tokens.push(token);
        }
        if tokens.len() == 12 {
            break;
        }
    }
    let frozen = 1;
    let on_frozen: Vec<usize> = (0..tokens.len())
        .filter(|&t| master_of(&cluster, &tokens[t]) == frozen)
        .collect();

    let mut addrs = Vec::new();
    for _ in 0..2 {
        // A second of patience per check: a loaded machine is not an outage.
        let store = RedisReplayStore::connect_cluster(cluster.urls())
            .await
            .unwrap()
            .timeout(Duration::from_secs(1));
        addrs.push(serve_axum(app(store, &tokens)).await);
    }
    let client = Arc::new(Client {
        addrs: [addrs[0], addrs[1]],
        tokens: tokens.clone(),
        log: Mutex::new(Vec::new()),
    });

    let began = Instant::now();
    let run = format!("{}", now_ms());
    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        let (client, run) = (Arc::clone(&client), run.clone());
        workers.push(tokio::spawn(async move {
            let mut previous: Option<(usize, String)> = None;
            let mut n = 0usize;
            while began.elapsed() < RUN {
                let token = (worker + n) % client.tokens.len();
                let salt = format!("{run}-{worker}-{n}");
                let instance = n % 2;
                if n.is_multiple_of(5) {
                    // Two copies at once, one on each instance.
                    tokio::join!(client.send(0, token, &salt), client.send(1, token, &salt));
                } else {
                    client.send(instance, token, &salt).await;
                }
                if n % 7 == 3 {
                    // A copy of the previous request, later, on the other instance.
                    if let Some((token, salt)) = &previous {
                        client.send(1 - instance, *token, salt).await;
                    }
                }
                previous = Some((token, salt));
                n += 1;
                tokio::time::sleep(PACE).await;
            }
        }));
    }

    // The fault, in the middle of the run.
    tokio::time::sleep(FREEZE_AT).await;
    cluster.node(frozen).freeze();
    let frozen_at = Instant::now();
    tokio::time::sleep(FROZEN_FOR).await;
    // Taken before the signal: the master answers as soon as it gets it, before `kill` returns.
    let thawed_at = Instant::now();
    cluster.node(frozen).thaw();
    // Back once a check on the frozen master's tokens passes, probed with fresh salts.
    let mut recovered_at = None;
    for i in 0..200 {
        let salt = format!("{run}-probe-{i}");
        let reply = send(client.addrs[0], signed(&tokens[on_frozen[0]], &salt)).await;
        if reply.status == StatusCode::OK {
            recovered_at = Some(Instant::now());
            break;
        }
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered_at = recovered_at.expect("no check passed within 20 s of the thaw");

    for worker in workers {
        worker.await.unwrap();
    }
    let log = std::mem::take(&mut *client.log.lock().unwrap());

    // Every answer is one of the three; no salt accepted twice.
    let mut by_salt: HashMap<&str, Vec<&Sent>> = HashMap::new();
    for sent in &log {
        match sent.status {
            StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE => {}
            StatusCode::UNAUTHORIZED => assert_eq!(sent.body, REPLAYED, "salt {}", sent.salt),
            other => panic!("salt {}: {other} {:?}", sent.salt, sent.body),
        }
        by_salt.entry(&sent.salt).or_default().push(sent);
    }
    for (salt, copies) in &by_salt {
        let accepted = copies.iter().filter(|s| s.status == StatusCode::OK).count();
        assert!(accepted <= 1, "salt {salt} accepted {accepted} times");
    }

    // While the master was frozen, its tokens' requests all got 503.
    let during: Vec<&Sent> = log
        .iter()
        .filter(|s| on_frozen.contains(&s.token) && s.start > frozen_at && s.end < thawed_at)
        .collect();
    assert!(
        during.len() > 10,
        "only {} requests hit the fault",
        during.len()
    );
    for sent in &during {
        assert_eq!(
            sent.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "salt {} during the fault: sent {:?} after the freeze, answered {:?} before the thaw",
            sent.salt,
            sent.start - frozen_at,
            thawed_at - sent.end,
        );
    }

    // After recovery, every request is decided: no 503, and a salt sent only from then on is
    // accepted exactly once.
    let after: Vec<&Sent> = log.iter().filter(|s| s.start > recovered_at).collect();
    assert!(
        after.len() > 100,
        "only {} requests after recovery",
        after.len()
    );
    for sent in &after {
        assert_ne!(
            sent.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "salt {} after recovery",
            sent.salt
        );
    }
    let mut fresh_after = 0;
    for (salt, copies) in &by_salt {
        if copies.iter().all(|s| s.start > recovered_at) {
            let accepted = copies.iter().filter(|s| s.status == StatusCode::OK).count();
            assert_eq!(accepted, 1, "salt {salt} sent after recovery");
            fresh_after += 1;
        }
    }
    assert!(fresh_after > 100);

    // Every key left has a TTL.
    let ttls = cluster.ttls();
    assert!(ttls.len() > 1000, "{} keys", ttls.len());
    assert!(ttls.iter().all(|(_, ttl)| *ttl > 0));

    let count = |status| log.iter().filter(|s| s.status == status).count();
    println!(
        "{} requests ({} salts): {} accepted, {} replays refused, {} unavailable; {} during the \
         fault; recovered {:?} after the thaw",
        log.len(),
        by_salt.len(),
        count(StatusCode::OK),
        count(StatusCode::UNAUTHORIZED),
        count(StatusCode::SERVICE_UNAVAILABLE),
        during.len(),
        recovered_at - thawed_at,
    );
}

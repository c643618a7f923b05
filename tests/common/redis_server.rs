//! Real `redis-server` child processes on free loopback ports, for the Redis replay-store tests:
//! one server ([`RedisServer`]), or a Redis Cluster of three masters ([`RedisCluster`]), with a
//! replica on request.
//!
//! The binary is `$REDIS_SERVER` or `redis-server` on the PATH. When it is missing the tests fail
//! with a message saying how to install it: they never skip. Every process is killed (and every
//! file removed) when its value is dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    port: u16,
    /// A cluster node's bus port.
    bus_port: Option<u16>,
    child: Option<Child>,
    /// Beside the port: what makes it a cluster node, say.
    args: Vec<String>,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(Vec::new(), false)
    }

    /// Starts a server on free ports. A port found free can be taken by another process (another
    /// test's server, a client's ephemeral port) before `redis-server` binds it; the server then
    /// exits, or a stranger answers on the port. Either is seen, and the start is tried again on
    /// new ports.
    fn start_with(args: Vec<String>, cluster: bool) -> Self {
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = free_port();
            let bus_port = cluster.then(|| {
                loop {
                    let bus = free_port();
                    if bus != port {
                        break bus;
                    }
                }
            });
            let mut server = Self {
                port,
                bus_port,
                child: None,
                args: args.clone(),
            };
            match server.spawn() {
                Ok(()) => return server,
                Err(why) => failures.push(why),
            }
        }
        panic!("redis-server did not start: {}", failures.join("; "));
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (connections drop at once).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (a cluster node with the same identity and slots, its
    /// data lost: no persistence).
    pub fn restart(&mut self) {
        self.stop();
        if let Err(why) = self.spawn() {
            panic!("redis-server did not restart: {why}");
        }
    }

    /// Freezes the server process (SIGSTOP): it accepts nothing and answers nothing.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Resumes a frozen server (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    /// Runs one command on this server (a plain connection: no redirection), with a timeout.
    pub fn command(&self, args: &[&str]) -> redis::Value {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .unwrap();
        connection
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query(&mut connection)
            .unwrap_or_else(|e| panic!("{args:?} on port {}: {e}", self.port))
    }

    /// [`command`](Self::command) answering text (a bulk or status reply).
    pub fn text(&self, args: &[&str]) -> String {
        match self.command(args) {
            redis::Value::BulkString(bytes) => String::from_utf8(bytes).unwrap(),
            redis::Value::SimpleString(text) => text,
            redis::Value::VerbatimString { text, .. } => text,
            other => panic!("{args:?}: not text: {other:?}"),
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("server is running").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Starts `redis-server` on this server's ports and waits until it answers as itself (its
    /// `process_id`). On failure the child is gone and the error says why.
    fn spawn(&mut self) -> Result<(), String> {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut command = Command::new(&binary);
        command.args(["--port", &self.port.to_string()]).args([
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
        if let Some(bus_port) = self.bus_port {
            // The bus port is the data port + 10000 unless set: set, so that any free port will
            // do.
            command.args(["--cluster-port", &bus_port.to_string()]);
        }
        let mut child = command
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `{binary}` ({e}); install it with `apt-get install redis-server` \
                     or set REDIS_SERVER to its path"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("on port {} it exited ({status})", self.port));
            }
            if answering_pid(self.port) == Some(child.id()) {
                self.child = Some(child);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!("on port {} it did not answer in 10 s", self.port))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A frozen server must be resumed before it can die cleanly.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
        }
        self.stop();
    }
}

/// A Redis Cluster on loopback: three masters splitting the 16384 slots, and with
/// [`start_with_replica`](Self::start_with_replica) a fourth node replicating the first master.
/// Nodes time each other out after 5 s (`cluster-node-timeout`), so a node frozen for less is not
/// failed over, only unanswering.
pub struct RedisCluster {
    /// The masters first, then the replica.
    nodes: Vec<RedisServer>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Three masters, no replica.
    pub fn start() -> Self {
        Self::start_nodes(false)
    }

    /// Three masters and a replica of the first (`node(3)`).
    pub fn start_with_replica() -> Self {
        Self::start_nodes(true)
    }

    fn start_nodes(replica: bool) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tower-hmac-cluster-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let count = if replica { 4 } else { 3 };
        let nodes = (0..count)
            .map(|n| {
                let config = dir.join(format!("nodes-{n}.conf"));
                RedisServer::start_with(
                    vec![
                        "--cluster-enabled".into(),
                        "yes".into(),
                        "--cluster-config-file".into(),
                        config.to_str().unwrap().into(),
                        "--cluster-node-timeout".into(),
                        "5000".into(),
                        "--dir".into(),
                        dir.to_str().unwrap().into(),
                    ],
                    true,
                )
            })
            .collect();
        let cluster = Self { nodes, dir };
        // Slots split as `redis-cli --cluster create` does, each master with its own epoch.
        let ranges = [(0, 5460), (5461, 10922), (10923, 16383)];
        for (n, (first, last)) in ranges.into_iter().enumerate() {
            let node = &cluster.nodes[n];
            node.command(&["CLUSTER", "SET-CONFIG-EPOCH", &(n + 1).to_string()]);
            node.command(&[
                "CLUSTER",
                "ADDSLOTSRANGE",
                &first.to_string(),
                &last.to_string(),
            ]);
        }
        for node in &cluster.nodes[1..] {
            let bus_port = node.bus_port.unwrap().to_string();
            let port = node.port().to_string();
            cluster.nodes[0].command(&["CLUSTER", "MEET", "127.0.0.1", &port, &bus_port]);
        }
        if replica {
            let master = cluster.id(0);
            wait_until("the replica knows its master", || {
                cluster.nodes[3]
                    .text(&["CLUSTER", "NODES"])
                    .contains(&master)
            });
            cluster.nodes[3].command(&["CLUSTER", "REPLICATE", &master]);
            wait_until("the replica is in sync", || {
                cluster.nodes[3]
                    .text(&["INFO", "replication"])
                    .contains("master_link_status:up")
            });
        }
        cluster.wait_ok();
        cluster
    }

    /// Waits until every node sees every other and every slot served.
    pub fn wait_ok(&self) {
        let count = self.nodes.len();
        wait_until("the cluster is ok on every node", || {
            self.nodes.iter().all(|node| {
                let info = node.text(&["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok")
                    && info.contains(&format!("cluster_known_nodes:{count}\r"))
            })
        });
    }

    /// Seed URLs: every node's.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    pub fn node(&self, n: usize) -> &RedisServer {
        &self.nodes[n]
    }

    pub fn node_mut(&mut self, n: usize) -> &mut RedisServer {
        &mut self.nodes[n]
    }

    /// Every node, masters first.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The cluster id of node `n`.
    pub fn id(&self, n: usize) -> String {
        self.nodes[n].text(&["CLUSTER", "MYID"])
    }

    /// The node currently serving `slot` as master, by position.
    pub fn master_of(&self, slot: u16) -> usize {
        let slots = self.nodes[0].command(&["CLUSTER", "SLOTS"]);
        let redis::Value::Array(ranges) = slots else {
            panic!("CLUSTER SLOTS: {slots:?}")
        };
        for range in ranges {
            let redis::Value::Array(fields) = range else {
                continue;
            };
            let (redis::Value::Int(first), redis::Value::Int(last)) = (&fields[0], &fields[1])
            else {
                continue;
            };
            if (*first..=*last).contains(&i64::from(slot)) {
                let redis::Value::Array(master) = &fields[2] else {
                    panic!("CLUSTER SLOTS: {fields:?}")
                };
                let redis::Value::Int(port) = master[1] else {
                    panic!("CLUSTER SLOTS: {master:?}")
                };
                return self
                    .nodes
                    .iter()
                    .position(|node| i64::from(node.port()) == port)
                    .unwrap();
            }
        }
        panic!("slot {slot} is not served");
    }

    /// Moves `slot` with its keys from the master `from` to the master `to`, as
    /// `redis-cli --cluster reshard` does (IMPORTING, MIGRATING, MIGRATE, then NODE on every
    /// master).
    pub fn move_slot(&self, slot: u16, from: usize, to: usize) {
        let slot = slot.to_string();
        let (from_id, to_id) = (self.id(from), self.id(to));
        self.nodes[to].command(&["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id]);
        self.nodes[from].command(&["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id]);
        loop {
            let keys = self.nodes[from].command(&["CLUSTER", "GETKEYSINSLOT", &slot, "100"]);
            let redis::Value::Array(keys) = keys else {
                panic!("GETKEYSINSLOT: {keys:?}")
            };
            if keys.is_empty() {
                break;
            }
            let client = redis::Client::open(self.nodes[from].url()).unwrap();
            let mut connection = client.get_connection().unwrap();
            let mut migrate = redis::cmd("MIGRATE");
            migrate
                .arg("127.0.0.1")
                .arg(self.nodes[to].port())
                .arg("")
                .arg(0)
                .arg(5000)
                .arg("KEYS");
            for key in keys {
                let redis::Value::BulkString(key) = key else {
                    panic!("a key: {key:?}")
                };
                migrate.arg(key);
            }
            migrate.query::<()>(&mut connection).unwrap();
        }
        for node in &self.nodes[..3] {
            node.command(&["CLUSTER", "SETSLOT", &slot, "NODE", &to_id]);
        }
        self.wait_ok();
    }

    /// Promotes the replica (`node(3)`) in place of its master with a coordinated manual
    /// failover (`CLUSTER FAILOVER`: no write is lost), and waits until every node agrees.
    pub fn fail_over(&self) {
        let replica = &self.nodes[3];
        replica.command(&["CLUSTER", "FAILOVER"]);
        wait_until("the replica is master", || {
            replica
                .text(&["INFO", "replication"])
                .contains("role:master")
        });
        let id = self.id(3);
        wait_until("every node sees the new master", || {
            self.nodes.iter().all(|node| {
                node.text(&["CLUSTER", "NODES"])
                    .lines()
                    .any(|line| line.starts_with(&id) && line.contains("master"))
            })
        });
        self.wait_ok();
    }

    /// Every key on every master, with its time to live in milliseconds (`PTTL`: -1 without
    /// one).
    pub fn ttls(&self) -> Vec<(Vec<u8>, i64)> {
        self.nodes.iter().flat_map(key_ttls).collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        // Each node is resumed if frozen, then killed; then their files go.
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl RedisServer {
    /// Every key this server holds as a master (none on a replica), with its `PTTL`.
    pub fn ttls(&self) -> Vec<(Vec<u8>, i64)> {
        key_ttls(self)
    }
}

fn key_ttls(server: &RedisServer) -> Vec<(Vec<u8>, i64)> {
    if server.child.is_none() || server.text(&["INFO", "replication"]).contains("role:slave") {
        return Vec::new();
    }
    let client = redis::Client::open(server.url()).unwrap();
    let mut connection = client.get_connection().unwrap();
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut connection).unwrap();
    keys.into_iter()
        .map(|key| {
            let ttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut connection).unwrap();
            (key, ttl)
        })
        .collect()
}

/// Polls `done` every 50 ms for up to 30 s.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting until {what}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `process_id` of the Redis server answering on `port`, if one answers.
fn answering_pid(port: u16) -> Option<u32> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;
    // The reply is text with a `process_id:<pid>\r\n` line early on: read until it is whole.
    let mut reply = Vec::new();
    let mut buffer = [0u8; 4096];
    while reply.len() < 64 * 1024 {
        let read = stream.read(&mut buffer).ok()?;
        if read == 0 {
            return None;
        }
        reply.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&reply);
        if let Some(start) = text.find("process_id:") {
            let field = &text[start + "process_id:".len()..];
            if let Some(end) = field.find("\r\n") {
                return field[..end].parse().ok();
            }
        }
    }
    None
}

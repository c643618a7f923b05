//! A webhook receiver verifying with the vendor's own SDK (`tests/snippets/webhooks/verify_server.*`),
//! in a child process: what the crate's signers (and the signing CLI) are checked against.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The vendors' scripts.
pub fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snippets/webhooks")
}

/// Fails (never skips) when the Node packages are not installed.
pub fn require_node_modules() {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snippets/node_modules");
    assert!(
        modules.join("@octokit/webhooks-methods").is_dir(),
        "the SDKs are missing: run `npm ci` in tests/snippets (scripts/test.sh does)"
    );
}

/// A receiver verifying with the vendor's SDK, in a child process killed when dropped.
pub struct SdkServer {
    child: Child,
    pub addr: SocketAddr,
}

impl SdkServer {
    /// Starts `program script provider` and waits for its `listening <port>` line.
    pub async fn start(
        program: &'static str,
        script: &'static str,
        provider: &'static str,
    ) -> Self {
        require_node_modules();
        let start = move || {
            let mut child = Command::new(program)
                .arg(scripts().join(script))
                .arg(provider)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot run {program} ({e}); install it (scripts/test.sh does)")
                });
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            let Some(port) = line.trim().strip_prefix("listening ") else {
                let _ = child.kill();
                let mut stderr = String::new();
                let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
                panic!("{program} {script} {provider} did not start: {line}\n{stderr}");
            };
            let addr = SocketAddr::from(([127, 0, 0, 1], port.parse().unwrap()));
            Self { child, addr }
        };
        tokio::time::timeout(Duration::from_secs(30), tokio::task::spawn_blocking(start))
            .await
            .expect("the SDK's receiver starts")
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for SdkServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

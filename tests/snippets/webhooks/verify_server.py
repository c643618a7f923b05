"""A Slack request receiver that checks requests with Slack's official Python SDK and the mock's
demo signing secret, for the crate's signer to be checked against.

    python3 verify_server.py slack

Listens on a free loopback port and prints `listening <port>` once ready. Every POST is checked
with slack_sdk's SignatureVerifier(signing_secret).is_valid_request(body, headers) over its raw
body bytes and headers as received (its 300 s window), and answered 200 {"ok":true} or 401
{"ok":false,"reason":...}. Adapted from slack_sdk's documented example: the secret is the
mock's demo secret and the answer is a plain status.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from slack_sdk.signature import SignatureVerifier

SECRETS = {"slack": "8f742231b10e8888abcd99yyyzzz85a5"}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in SECRETS:
        print(__doc__, file=sys.stderr)
        return 2
    verifier = SignatureVerifier(SECRETS[sys.argv[1]])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the http.server name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                ok = verifier.is_valid_request(body, dict(self.headers.items())) is True
                reason = "the SDK returned False"
            except Exception as error:  # noqa: BLE001 (what the SDK raised is the answer)
                ok, reason = False, f"{type(error).__name__}: {error}"
            answer = json.dumps({"ok": True} if ok else {"ok": False, "reason": reason}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())

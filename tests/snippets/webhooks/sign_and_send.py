"""Sends Slack requests to the mock's /webhooks/slack route, signed by Slack's official Python
SDK with the mock's demo signing secret and the current time, as Slack signs them.

    python3 sign_and_send.py slack <base URL of the mock, like http://127.0.0.1:8080>

Signed by slack_sdk (tests/snippets/requirements.txt pins the version):
SignatureVerifier(signing_secret).generate_signature(timestamp=..., body=...), sent in
X-Slack-Signature with the timestamp in X-Slack-Request-Timestamp.

Like sign_and_send.mjs, for each request it sends the signed request, then (where it says so) an
exact copy of it, then a copy with a letter of the body changed under the same signature, and
prints one JSON line per request sent: {"name", "status", "body_hex", "id", "reply"}. What was
changed from Slack's documented example: the secret is the mock's demo secret, the URL is the
mock's, and the copies are sent to show what the receiver does with them.
"""

import json
import sys
import time
import urllib.error
import urllib.request

from slack_sdk.signature import SignatureVerifier

SECRETS = {"slack": "8f742231b10e8888abcd99yyyzzz85a5"}


def signed(secret, name, body, copy=True):
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/json",
    }
    return {"name": name, "headers": headers, "body": body, "copy": copy}


def deliveries(secret):
    event = json.dumps(
        {
            "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "team_id": "T061EG9RZ",
            "event": {"type": "app_mention", "text": "Grüße"},
            "type": "event_callback",
        },
        ensure_ascii=False,
    ).encode()
    # Slack's documented url_verification request.
    challenge = json.dumps(
        {
            "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    ).encode()
    return [signed(secret, "event", event), signed(secret, "url_verification", challenge, copy=False)]


def send(url, name, headers, body):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, reply = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, reply = error.code, error.read()
    line = {"name": name, "status": status, "body_hex": body.hex(), "id": None,
            "reply": reply.decode("utf-8", "replace")}
    print(json.dumps(line), flush=True)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SECRETS:
        print(__doc__, file=sys.stderr)
        return 2
    provider, base = sys.argv[1], sys.argv[2]
    url = f"{base}/webhooks/{provider}"
    for request in deliveries(SECRETS[provider]):
        send(url, request["name"], request["headers"], request["body"])
        if request["copy"]:
            send(url, request["name"] + " copy", request["headers"], request["body"])
        # The case of the body's last ASCII letter changed: still JSON, no longer what was signed.
        changed = bytearray(request["body"])
        at = max(i for i, byte in enumerate(changed) if chr(byte).isascii() and chr(byte).isalpha())
        changed[at] ^= 0x20
        send(url, request["name"] + " tampered", request["headers"], bytes(changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generates slack.json with the official SDK slack_sdk:
SignatureVerifier.generate_signature(timestamp=, body=) signs; SignatureVerifier.is_valid_request(body, headers)
verifies, with a fixed Clock so fixed timestamps can be checked.
`vectors` are requests a handler receives once verified; `handshakes` are url_verification requests, which the
receiver answers itself after the signature verified, with the JSON answer Slack's url_verification page shows.
Run from tests/vectors/webhooks (after `python3 -m venv .venv && .venv/bin/pip install -r requirements.txt`):
    .venv/bin/python gen/slack.py
"""
import hashlib
import hmac
import json
import os
import sys

import slack_sdk
from slack_sdk.signature import Clock, SignatureVerifier

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
T = 1763800000
HERE = os.path.dirname(os.path.abspath(__file__))


class FixedClock(Clock):
    def __init__(self, now):
        self._now = now

    def now(self):
        return float(self._now)


def run(fn):
    try:
        return {"returned": fn()}
    except Exception as e:  # record exactly what the SDK raised
        return {"threw": (f"{type(e).__module__}.{type(e).__name__}: {e}" if type(e).__module__ != "builtins" else f"{type(e).__name__}: {e}")}


def raw_sig(secret, ts: str, body: bytes) -> str:
    return "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()


vectors = []


def add(name, kind, expected, body: bytes, ts: str, sig, made_by, now=None, verify_secret=SECRET, note=None, body_for_sdk=None, signed_message=None):
    now = T if now is None else now
    v = SignatureVerifier(verify_secret, clock=FixedClock(now))
    sdk_body = body if body_for_sdk is None else body_for_sdk
    headers = {}
    if ts is not None:
        headers["X-Slack-Request-Timestamp"] = ts
    if sig is not None:
        headers["X-Slack-Signature"] = sig
    try:
        utf8 = body.decode("utf-8")
        valid_utf8 = True
    except UnicodeDecodeError:
        utf8, valid_utf8 = None, False
    out = {
        "name": name,
        "kind": kind,
        "expected": expected,
        "secret": verify_secret,
        "body_utf8": utf8,
        "body_hex": body.hex(),
        "body_is_valid_utf8": valid_utf8,
        "timestamp": ts,
        "now": now,
        "headers": headers,
        "signed_message_hex": (signed_message if signed_message is not None else (b"v0:" + (ts or "").encode() + b":" + body)).hex(),
        "made_by": made_by,
        "sdk_verify": {
            "call": f"SignatureVerifier(secret, clock=FixedClock({now})).is_valid_request(body_bytes, headers)",
            **run(lambda: v.is_valid_request(sdk_body, headers)),
        },
    }
    if note:
        out["note"] = note
    vectors.append(out)


def gen(ts, body, secret=SECRET):
    return SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)


# Slack docs test vector
DOC_TS = "1531420618"
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
s = gen(DOC_TS, DOC_BODY)
assert s == DOC_SIG, s
add("docs_test_vector", "positive", "valid", DOC_BODY, DOC_TS, s, "SignatureVerifier.generate_signature(timestamp='1531420618', body=...)", now=int(DOC_TS),
    note="Slack docs example (docs.slack.dev/authentication/verifying-requests-from-slack), also in slack_sdk tests; expected " + DOC_SIG)

TS = str(T)
JSON_BODY = b'{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","team_id":"T061EG9RZ","api_app_id":"A0FFV41KK","event":{"type":"app_mention","text":"hi"},"type":"event_callback"}'
JSIG = gen(TS, JSON_BODY)
add("json_body", "positive", "valid", JSON_BODY, TS, JSIG, "generate_signature(timestamp='1763800000', body=bytes)")
FORM = b"command=%2Fweather&text=94070&user_id=U2147483697"
add("form_urlencoded_body", "positive", "valid", FORM, TS, gen(TS, FORM), "generate_signature")
NA = '{"text":"héllo wörld — ✓ 日本語 🎉"}'.encode()
add("non_ascii_utf8_body", "positive", "valid", NA, TS, gen(TS, NA), "generate_signature (bytes are decoded as UTF-8 then re-encoded: identical for valid UTF-8)")
add("empty_body", "positive", "valid", b"", TS, gen(TS, b""), "generate_signature(body=b'') -> HMAC over 'v0:1763800000:'")
BAD = bytes([0x7B, 0x22, 0x62, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0xC3, 0x28, 0x80, 0x22, 0x7D])
r = run(lambda: gen(TS, BAD))
add("non_utf8_body_raw_bytes", "positive", "valid byte-wise; slack_sdk raises", BAD, TS, raw_sig(SECRET, TS, BAD),
    "hmac.new(secret, b'v0:'+ts+b':'+raw_bytes) — SDK generate_signature raised: " + r.get("threw", ""),
    note="slack_sdk decodes bytes with body.decode('utf-8') (strict): UnicodeDecodeError propagates out of is_valid_request.")
# timestamps
add("ts_299s_old_ok", "positive", "valid", JSON_BODY, TS, JSIG, "json_body, now=t+299", now=T + 299)
add("ts_300s_old_ok", "positive", "valid (|now-t| == 300 accepted)", JSON_BODY, TS, JSIG, "json_body, now=t+300", now=T + 300)
add("neg_ts_301s_old", "negative", "invalid", JSON_BODY, TS, JSIG, "json_body, now=t+301", now=T + 301)
add("ts_300s_future_ok", "positive", "valid", JSON_BODY, TS, JSIG, "json_body, now=t-300", now=T - 300)
add("neg_ts_301s_future", "negative", "invalid (abs(): both sides checked)", JSON_BODY, TS, JSIG, "json_body, now=t-301", now=T - 301)
add("neg_ts_non_integer", "negative", "invalid", JSON_BODY, "1763800000.5", gen("1763800000.5", JSON_BODY), "generate_signature with ts '1763800000.5'",
    note="int('1763800000.5') raises ValueError inside is_valid -> exception, not False")
add("ts_raw_string_is_signed", "positive", "valid in slack_sdk: int(' 1763800000') ok and HMAC uses the raw header text", JSON_BODY, " " + TS, gen(" " + TS, JSON_BODY),
    "generate_signature(timestamp=' 1763800000')", note="the timestamp is NOT normalised: signed text is 'v0: 1763800000:'")
add("neg_ts_normalisation_not_applied", "negative", "invalid: signature over '1763800000' does not match header '01763800000'", JSON_BODY, "0" + TS, JSIG,
    "json_body signature with header timestamp '01763800000'")
# negatives
add("neg_tampered_body", "negative", "invalid", JSON_BODY.replace(b"hi", b"ho"), TS, JSIG, "json_body signature, body changed")
add("neg_wrong_secret", "negative", "invalid", JSON_BODY, TS, gen(TS, JSON_BODY, secret="00000000000000000000000000000000"), "generate_signature with another secret")
add("neg_truncated_signature", "negative", "invalid", JSON_BODY, TS, JSIG[:3 + 32], "v0= + first 32 hex")
add("neg_empty_signature_v0_eq", "negative", "invalid", JSON_BODY, TS, "v0=", "literal 'v0='")
add("neg_empty_signature_header", "negative", "invalid", JSON_BODY, TS, "", "literal ''")
add("neg_missing_signature_header", "negative", "invalid", JSON_BODY, TS, None, "no X-Slack-Signature header")
add("neg_missing_timestamp_header", "negative", "invalid", JSON_BODY, None, JSIG, "no X-Slack-Request-Timestamp header")
add("neg_uppercase_hex", "negative", "invalid (exact string compare)", JSON_BODY, TS, "v0=" + JSIG[3:].upper(), "hex uppercased")
add("neg_v1_prefix", "negative", "invalid", JSON_BODY, TS, "v1=" + JSIG[3:], "prefix v1= instead of v0=")
add("neg_non_ascii_in_signature", "negative", "invalid", JSON_BODY, TS, "v0=" + JSIG[3:-1] + "é", "last hex char replaced by 'é'",
    note="hmac.compare_digest(str, str) raises TypeError for non-ASCII str")

# url_verification (api.slack.com/events/url_verification): the docs' example body, signed by the SDK.
handshakes = []
HANDSHAKE_BODY = b'{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}'
CHALLENGE = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"


def handshake(name, expected, sig, made_by, ts=TS, body=HANDSHAKE_BODY, now=T):
    n = len(vectors)
    add(name, "positive" if expected["status"] == 200 else "negative", expected["why"], body, ts, sig, made_by, now=now)
    v = vectors.pop(n)
    v["expected_response"] = {k: expected[k] for k in ("status", "content_type", "body") if k in expected}
    handshakes.append(v)


ANSWER = {"status": 200, "content_type": "application/json", "body": json.dumps({"challenge": CHALLENGE}, separators=(",", ":")),
          "why": "signed: answered by the receiver itself with the challenge (JSON form of the docs' answer), not by the handler"}
REFUSED = {"status": 401}
handshake("url_verification", ANSWER, gen(TS, HANDSHAKE_BODY), "generate_signature(timestamp='1763800000', body=docs url_verification example)")
handshake("neg_url_verification_wrong_secret", dict(REFUSED, why="badly signed: refused like any request, never answered"),
          gen(TS, HANDSHAKE_BODY, secret="00000000000000000000000000000000"), "generate_signature with another secret")
handshake("neg_url_verification_signature_of_other_body", dict(REFUSED, why="the signature of another body: refused, never answered"),
          JSIG, "json_body's signature presented with the url_verification body")
handshake("neg_url_verification_unsigned", dict(REFUSED, why="no X-Slack-Signature: refused, never answered"),
          None, "no X-Slack-Signature header")
handshake("neg_url_verification_stale", dict(REFUSED, why="signed, but 301 s old: refused, never answered"),
          gen(TS, HANDSHAKE_BODY), "url_verification signature, now=t+301", now=T + 301)

doc = {
    "scheme": "slack",
    "header": "X-Slack-Signature",
    "sdk": {"name": "slack_sdk", "version": slack_sdk.version.__version__, "language": "python " + sys.version.split()[0]},
    "generator": {"script": "gen/slack.py", "command": "cd tests/vectors/webhooks && python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/python gen/slack.py"},
    "secret": SECRET,
    "key_bytes_hex": SECRET.encode().hex(),
    "signed_message": "b'v0:' + X-Slack-Request-Timestamp (raw header text) + b':' + body",
    "vectors": vectors,
    "handshakes": handshakes,
}
with open(os.path.join(HERE, "..", "slack.json"), "w") as f:
    json.dump(doc, f, indent=2, ensure_ascii=False)
    f.write("\n")
for v in vectors + handshakes:
    print(v["name"].ljust(36), json.dumps(v["sdk_verify"].get("returned", v["sdk_verify"].get("threw"))))

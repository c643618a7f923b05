"""Paddle Billing vectors (paddle.json). Signs with the official Python SDK's own HMAC helper
(paddle_billing.Notifications.PaddleSignature.calculate_hmac; neither SDK has a signer) and verifies with
paddle_billing.Notifications.Verifier (clock frozen at each vector's "now"). Node SDK results are added by
gen/paddle_node.mjs. Run from tests/vectors/webhooks (after `npm ci` and
`python3 -m venv .venv && .venv/bin/pip install -r requirements.txt`):
    .venv/bin/python gen/paddle.py && node gen/paddle_node.mjs"""
import json
import os
import platform
import sys
from importlib.metadata import version
import paddle_billing.Notifications.Verifier  # noqa: F401
verifier_mod = sys.modules["paddle_billing.Notifications.Verifier"]
from paddle_billing.Notifications import Verifier, Secret
from paddle_billing.Notifications.PaddleSignature import PaddleSignature
import logging
logging.disable(logging.CRITICAL)

HERE = os.path.dirname(os.path.abspath(__file__))


def body_fields(b: bytes) -> dict:
    d = {"body_hex": b.hex(), "body_len": len(b)}
    try:
        d["body_utf8"] = b.decode("utf-8")
    except UnicodeDecodeError:
        d["body_utf8"] = None
    return d


def msg_fields(m: bytes, prefix="signed_message") -> dict:
    d = {prefix + "_hex": m.hex()}
    try:
        d[prefix + "_utf8"] = m.decode("utf-8")
    except UnicodeDecodeError:
        d[prefix + "_utf8"] = None
    return d


def outcome(fn):
    """Run fn(); return a JSON-able description of what it returned or raised."""
    try:
        r = fn()
        return {"returned": r if isinstance(r, (bool, int, str, type(None))) else repr(r)}
    except Exception as e:  # noqa: BLE001 - we record everything
        return {"raised": f"{type(e).__name__}: {e}"}


def pkg(name):
    return f"{name}=={version(name)}"


def write(scheme, doc):
    path = os.path.join(HERE, "..", f"{scheme}.json")
    doc.setdefault("python", platform.python_version())
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("wrote", os.path.basename(path), len(doc.get("vectors", [])), "vectors")

SECRET = "pdl_ntfset_demo_secret"
OLD = "pdl_ntfset_old_secret"
TS = 1763800000

JSON_BODY = (b'{"event_id":"evt_01hv8x2acma8cqr7qcs5gy3z2g","event_type":"transaction.completed",'
             b'"occurred_at":"2025-11-22T08:26:40.000000Z","notification_id":"ntf_01hv8x2af1f9gbjnjn6h0k5y5e",'
             b'"data":{"id":"txn_01hv8wptq8987qeep44cyrewp9","status":"completed"}}')
UNICODE_BODY = '{"data":{"name":"café ✓ 😀"},"event_type":"customer.updated"}'.encode()
NON_UTF8_BODY = b'{"data":{"note":"\xff\xfe\xc3("},"event_type":"x"}'


def sign(secret, ts, body: bytes) -> str:
    return PaddleSignature.calculate_hmac(secret, f"{ts}:".encode() + body).hexdigest()


class Req:
    def __init__(self, body, headers):
        self.body = body
        self.headers = headers


def py_verify(header, body, now, secrets=None):
    verifier_mod.time = lambda: float(now)
    headers = {} if header is None else {"Paddle-Signature": header}
    return outcome(lambda: Verifier().verify(Req(body, headers), secrets or Secret(SECRET)))


vectors = []


def add(name, desc, body, header, now=TS + 1, secret_used=SECRET, expect=None, note=None, ts=TS, py_secrets=None):
    v = {"name": name, "description": desc, **body_fields(body),
         "headers": ({} if header is None else {"Paddle-Signature": header}),
         "secret": SECRET, "signing_secret": secret_used, "ts": ts,
         **msg_fields(f"{ts}:".encode() + body), "now": now,
         "expected_by_scheme": expect}
    if note:
        v["note"] = note
    v["sdk_results"] = {"paddle-python-sdk Verifier().verify(request, Secret(secret))": py_verify(header, body, now, py_secrets)}
    if py_secrets:
        v["python_secrets_list"] = [s.secret_key for s in py_secrets]
    vectors.append(v)


h = sign(SECRET, TS, JSON_BODY)
add("json_body", "typical JSON delivery", JSON_BODY, f"ts={TS};h1={h}", expect="valid")
add("empty_body", "zero-length body; signed message is just 'ts:'", b"", f"ts={TS};h1={sign(SECRET, TS, b'')}", expect="valid")
add("unicode_body", "valid multi-byte UTF-8 body", UNICODE_BODY, f"ts={TS};h1={sign(SECRET, TS, UNICODE_BODY)}", expect="valid")
add("non_utf8_body", "body bytes are not valid UTF-8; HMAC over the raw bytes", NON_UTF8_BODY,
    f"ts={TS};h1={sign(SECRET, TS, NON_UTF8_BODY)}", expect="valid",
    note="Python SDK decodes body as UTF-8 first (raises); Node SDK takes a string (lossy U+FFFD decode) so it cannot match")
ho = sign(OLD, TS, JSON_BODY)
add("rotation_new_last", "two h1 (old secret first, current secret last)", JSON_BODY, f"ts={TS};h1={ho};h1={h}", expect="valid")
add("rotation_new_first", "two h1 (current secret first, old secret last)", JSON_BODY, f"ts={TS};h1={h};h1={ho}", expect="valid",
    note="Node SDK keeps only the LAST h1 -> rejects")
add("rotation_three", "three h1, current in the middle", JSON_BODY, f"ts={TS};h1={ho};h1={h};h1={sign('x', TS, JSON_BODY)}", expect="valid")
add("rotation_py_secret_list", "single h1 made with OLD secret, verifier given [current, old] secrets (Python list API)", JSON_BODY,
    f"ts={TS};h1={ho}", secret_used=OLD, expect="valid_if_old_secret_configured", py_secrets=[Secret(SECRET), Secret(OLD)])
add("h1_before_ts", "order of keys reversed", JSON_BODY, f"h1={h};ts={TS}", expect="valid")
# boundaries / clock
add("age_5s_boundary", "now = ts + 5 (exactly at tolerance)", JSON_BODY, f"ts={TS};h1={h}", now=TS + 5, expect="valid")
add("age_6s_expired", "now = ts + 6", JSON_BODY, f"ts={TS};h1={h}", now=TS + 6, expect="invalid")
add("future_6s", "now = ts - 6 (timestamp 6 s in the future)", JSON_BODY, f"ts={TS};h1={h}", now=TS - 6, expect="invalid",
    note="Python SDK rejects (two-sided); Node SDK only checks the past -> accepts")
add("future_1h", "now = ts - 3600", JSON_BODY, f"ts={TS};h1={h}", now=TS - 3600, expect="invalid")
add("leading_zero_ts", "header ts=0<ts>; signature made over the canonical '<ts>:' string", JSON_BODY, f"ts=0{TS};h1={h}", expect="sdk_dependent",
    note="both SDKs parse ts to an integer and re-stringify it into the signed message, so the leading zero is dropped")
# negatives
add("tampered_body", "body changed after signing", JSON_BODY.replace(b"completed\"}", b"completed \"}"), f"ts={TS};h1={h}", expect="invalid")
add("wrong_secret", "signed with another secret", JSON_BODY, f"ts={TS};h1={sign('pdl_ntfset_wrong', TS, JSON_BODY)}", secret_used="pdl_ntfset_wrong", expect="invalid")
add("truncated_sig", "h1 cut to 32 hex chars", JSON_BODY, f"ts={TS};h1={h[:32]}", expect="invalid")
add("empty_sig", "h1= with empty value", JSON_BODY, f"ts={TS};h1=", expect="invalid")
add("missing_h1", "only ts", JSON_BODY, f"ts={TS}", expect="invalid")
add("missing_ts", "only h1", JSON_BODY, f"h1={h}", expect="invalid")
add("missing_header", "no Paddle-Signature header", JSON_BODY, None, expect="invalid")
add("uppercase_hex", "h1 in upper-case hex", JSON_BODY, f"ts={TS};h1={h.upper()}", expect="sdk_rejects")
add("space_after_semicolon", "'ts=..; h1=..' (space)", JSON_BODY, f"ts={TS}; h1={h}", expect="sdk_rejects")
add("unknown_key", "extra key 'h2=abc' appended", JSON_BODY, f"ts={TS};h1={h};h2=abc", expect="sdk_dependent",
    note="Python SDK raises ValueError('Unrecognized Paddle-Signature key'); Node SDK ignores unknown keys")
add("ts_seconds_as_ms", "ts given in milliseconds (signature over that string)", JSON_BODY,
    f"ts={TS*1000};h1={sign(SECRET, TS*1000, JSON_BODY)}", ts=TS * 1000, expect="invalid",
    note="ms timestamp looks far in the future: Python rejects, Node accepts (no future check)")

write("paddle", {
    "scheme": "paddle",
    "generator": {"script": "gen/paddle.py, gen/paddle_node.mjs", "command": "cd tests/vectors/webhooks && npm ci && python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/python gen/paddle.py && node gen/paddle_node.mjs"},
    "signer": "paddle_billing.Notifications.PaddleSignature.calculate_hmac(secret, f'{ts}:'.encode()+body).hexdigest() (" + pkg("paddle-python-sdk") + ")",
    "header": "Paddle-Signature: ts=<unix s>;h1=<lowercase hex HMAC-SHA256>[;h1=...]",
    "signed_message": "ASCII decimal ts + ':' + raw body bytes",
    "key": "UTF-8 bytes of the secret string (pdl_ntfset_... used verbatim, prefix included)",
    "secret": SECRET,
    "packages": [pkg("paddle-python-sdk")],
    "vectors": vectors,
})

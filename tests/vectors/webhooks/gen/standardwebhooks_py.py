"""Adds the Python `standardwebhooks` library's answers to standardwebhooks.json
(written first by gen/standardwebhooks.mjs), and cross-checks Python Webhook.sign() against the JS-made headers.
Webhook.verify() reads datetime.now(); this script pins it to each vector's "now".
Run from tests/vectors/webhooks (after `python3 -m venv .venv && .venv/bin/pip install -r requirements.txt`):  .venv/bin/python gen/standardwebhooks_py.py
"""
import json
import os
import sys
from datetime import datetime, timezone

import standardwebhooks
import standardwebhooks.webhooks as swh
from standardwebhooks import Webhook

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "..", "standardwebhooks.json")
_real = swh.datetime
NOW = [0]


class PinnedDatetime(_real):
    @classmethod
    def now(cls, tz=None):
        return _real.fromtimestamp(NOW[0], tz)


def run(fn):
    try:
        r = fn()
        return {"returned": "parsed JSON object" if isinstance(r, (dict, list)) else ("None (verified, no JSON)" if r is None else r)}
    except Exception as e:
        return {"threw": (f"{type(e).__module__}.{type(e).__name__}: {e}" if type(e).__module__ != "builtins" else f"{type(e).__name__}: {e}")}


doc = json.load(open(PATH))
for v in doc["vectors"]:
    body = bytes.fromhex(v["body_hex"])
    NOW[0] = v["now"]
    swh.datetime = PinnedDatetime
    try:
        wh = Webhook(v["secret"])
        v["sdk_verify_python"] = {"call": f"Webhook(secret).verify(body_bytes, headers)  [datetime.now pinned to {v['now']}]", **run(lambda: wh.verify(body, v["headers"]))}
        v["sdk_verify_python_no_json"] = {"call": "Webhook(secret).verify(body_bytes, headers, json_parse=False)", **run(lambda: wh.verify(body, v["headers"], json_parse=False))}
    finally:
        swh.datetime = _real
    # cross-check python sign() for the vectors whose header carries one signature made by the demo/other secret
    if v["kind"] == "positive" and v["body_is_valid_utf8"]:
        h = {k.lower(): val for k, val in v["headers"].items()}
        try:
            ts = datetime.fromtimestamp(float(h["webhook-timestamp"]), tz=timezone.utc)
            py = Webhook(v["secret"]).sign(h["webhook-id"], ts, body.decode())
            v["python_sign_matches_header"] = py in h["webhook-signature"].split(" ")
        except Exception as e:
            v["python_sign_matches_header"] = (f"{type(e).__module__}.{type(e).__name__}: {e}" if type(e).__module__ != "builtins" else f"{type(e).__name__}: {e}")
doc["sdk_python"] = {"name": "standardwebhooks (PyPI)", "version": standardwebhooks.__version__, "language": "python " + sys.version.split()[0]}
with open(PATH, "w") as f:
    json.dump(doc, f, indent=2, ensure_ascii=False)
    f.write("\n")
for v in doc["vectors"]:
    p = v["sdk_verify_python"]
    q = v["sdk_verify_python_no_json"]
    print(v["name"].ljust(38), json.dumps(p.get("returned", p.get("threw")))[:70].ljust(72), "| no_json:", json.dumps(q.get("returned", q.get("threw")))[:60], "| sign==", v.get("python_sign_matches_header", "-"))

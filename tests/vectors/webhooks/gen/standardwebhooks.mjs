// Generates vectors/standardwebhooks.json with the official JS library `standardwebhooks`:
//   new Webhook(secret).sign(msgId, new Date(ts*1000), payload)   and   .verify(payload, headers)
// verify() reads Date.now(); this script pins Date.now to each vector's "now" while verifying.
// Then run gen/standardwebhooks_py.py to add the Python library's answers to the same file.
// Run from tests/vectors/webhooks (after `npm ci`):  node gen/standardwebhooks.mjs && .venv/bin/python gen/standardwebhooks_py.py
import { createRequire } from "node:module";
import { createHmac } from "node:crypto";
import { writeFileSync, readFileSync } from "node:fs";
const require = createRequire(import.meta.url);
const { Webhook } = require("standardwebhooks");

const SDK_VERSION = JSON.parse(readFileSync(new URL("../node_modules/standardwebhooks/package.json", import.meta.url))).version;
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER = "whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA=="; // base64("secret-of-a-rotated-endpoint")
const T = 1763800000;
const ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const hex = (b) => Buffer.from(b).toString("hex");
const KEY = Buffer.from(SECRET.slice(6), "base64");

const realNow = Date.now;
function run(fn) {
  try { const r = fn(); return { returned: r === undefined ? "undefined (verified, no JSON)" : (typeof r === "object" ? "parsed JSON object" : r) }; }
  catch (e) { return { threw: `${e.constructor.name === "ExtendableError" ? e.name : e.constructor.name}: ${e.message}` }; }
}
const sign = (payload, ts = T, id = ID, secret = SECRET) => new Webhook(secret).sign(id, new Date(ts * 1000), payload);
const rawSign = (bytes, ts = T, id = ID, key = KEY) =>
  "v1," + createHmac("sha256", key).update(Buffer.concat([Buffer.from(`${id}.${ts}.`), bytes])).digest("base64");

const vectors = [];
function add(v) {
  const body = v.body_bytes;
  const now = v.now ?? T;
  const headers = v.headers ?? { "webhook-id": v.id ?? ID, "webhook-timestamp": String(v.timestamp ?? T), "webhook-signature": v.sig };
  Date.now = () => now * 1000;
  const r = run(() => new Webhook(v.verify_secret ?? SECRET).verify(body, headers));
  Date.now = realNow;
  const out = {
    name: v.name, kind: v.kind, expected: v.expected,
    secret: v.verify_secret ?? SECRET,
    body_utf8: v.utf8 === false ? null : body.toString("utf8"),
    body_hex: hex(body),
    body_is_valid_utf8: v.utf8 !== false,
    now,
    headers,
    signed_message_hex: v.signed_message_hex ?? hex(Buffer.concat([Buffer.from(`${v.id ?? ID}.${v.signed_ts ?? v.timestamp ?? T}.`), body])),
    made_by: v.made_by,
    sdk_verify_js: { call: `new Webhook(secret).verify(Buffer(rawBody), headers)  [Date.now pinned to ${now}s]`, ...r },
  };
  if (v.note) out.note = v.note;
  vectors.push(out);
}

// Library test vector (standard-webhooks libraries/python/tests/test_webhooks.py::test_sign_function, same in Svix docs)
{
  const s = sign('{"test": 2432232314}', 1614265330, "msg_p5jXN8AQM9LWM0D4loKWxJek");
  if (s !== "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") throw new Error("spec vector mismatch " + s);
  add({ name: "library_test_vector", kind: "positive", expected: "valid", body_bytes: Buffer.from('{"test": 2432232314}'), id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
    timestamp: 1614265330, now: 1614265330, sig: s, made_by: "Webhook.sign('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{\"test\": 2432232314}')",
    note: "expected v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= (standard-webhooks python test_sign_function; Svix docs)" });
}
const JSON_BODY = '{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"1f81eb52-5198-4599-803e-771906343485"}}';
const JB = Buffer.from(JSON_BODY);
const S = sign(JSON_BODY);
add({ name: "json_body", kind: "positive", expected: "valid", body_bytes: JB, sig: S, made_by: "Webhook(secret).sign(id, 1763800000, body)" });
{
  const s = '{"type":"note.created","data":{"text":"héllo wörld — ✓ 日本語 🎉"}}';
  add({ name: "non_ascii_utf8_body", kind: "positive", expected: "valid", body_bytes: Buffer.from(s), sig: sign(s), made_by: "Webhook.sign (string payload, TextEncoder UTF-8)" });
}
add({ name: "empty_body", kind: "positive", expected: "valid", body_bytes: Buffer.alloc(0), sig: sign(""), made_by: "Webhook.sign(id, ts, '') -> HMAC over 'msg_...1763800000.'",
  note: "JS verify returns undefined for an empty payload (skips JSON.parse); Python verify raises JSONDecodeError unless json_parse=False" });
{
  const bytes = Buffer.from([0x7b, 0x22, 0x62, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x22, 0x7d]);
  const lossy = Buffer.from(bytes.toString("utf8"));
  add({ name: "non_utf8_body_sdk_signed", kind: "positive", expected: "valid in JS lib (lossy on both sides); Python lib raises UnicodeDecodeError", utf8: false, body_bytes: bytes,
    sig: sign(bytes), signed_message_hex: hex(Buffer.concat([Buffer.from(`${ID}.${T}.`), lossy])),
    made_by: "Webhook.sign(id, ts, Buffer(non-UTF-8)) — the lib does payload.toString() (UTF-8 with U+FFFD) before HMAC",
    note: "signed_message_hex is the lossy message the JS lib actually MACs, not the raw bytes" });
  add({ name: "non_utf8_body_raw_bytes_hmac", kind: "positive", expected: "valid byte-wise; rejected by JS lib; Python lib raises", utf8: false, body_bytes: bytes, sig: rawSign(bytes),
    made_by: "node:crypto HMAC(base64decode(secret after whsec_), id.ts. + raw bytes)" });
}
{
  const other = sign(JSON_BODY, T, ID, OTHER);
  add({ name: "rotation_two_signatures", kind: "positive", expected: "valid", body_bytes: JB, sig: `${other} ${S}`, made_by: `Webhook('${OTHER}').sign + Webhook(demo).sign, space-joined` });
  add({ name: "rotation_verified_with_other_secret", kind: "positive", expected: "valid", body_bytes: JB, sig: `${other} ${S}`, verify_secret: OTHER, made_by: "same header, other secret" });
  const fakeV1a = "v1a," + Buffer.alloc(64, 7).toString("base64");
  add({ name: "with_v1a_and_unknown_versions", kind: "positive", expected: "valid (non-v1 entries skipped)", body_bytes: JB, sig: `${fakeV1a} v2,${S.slice(3)} ${S}`, made_by: "v1a,<64 bytes> v2,<sig> v1,<sig>" });
}
add({ name: "secret_without_whsec_prefix", kind: "positive", expected: "valid (prefix optional)", body_bytes: JB, sig: S, verify_secret: SECRET.slice(6), made_by: "json_body, verified with 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'" });
add({ name: "header_names_mixed_case", kind: "positive", expected: "valid (header names lowercased by the lib)", body_bytes: JB,
  headers: { "Webhook-Id": ID, "Webhook-Timestamp": String(T), "WEBHOOK-SIGNATURE": S }, sig: S, made_by: "json_body with mixed-case header names" });
// timestamps
add({ name: "ts_300s_old_ok", kind: "positive", expected: "valid", body_bytes: JB, sig: S, now: T + 300, made_by: "json_body, now=t+300" });
add({ name: "neg_ts_301s_old", kind: "negative", expected: "invalid: too old", body_bytes: JB, sig: S, now: T + 301, made_by: "json_body, now=t+301" });
add({ name: "ts_300s_future_ok", kind: "positive", expected: "valid", body_bytes: JB, sig: S, now: T - 300, made_by: "json_body, now=t-300" });
add({ name: "neg_ts_301s_future", kind: "negative", expected: "invalid: too new", body_bytes: JB, sig: S, now: T - 301, made_by: "json_body, now=t-301" });
add({ name: "ts_fractional_header_normalised", kind: "positive", expected: "valid in both libs: header '1763800000.5' parsed then the MAC uses floor -> '1763800000'", body_bytes: JB,
  headers: { "webhook-id": ID, "webhook-timestamp": `${T}.5`, "webhook-signature": S }, sig: S, signed_ts: T, made_by: "json_body signature, timestamp header '1763800000.5'" });
add({ name: "ts_leading_zero_normalised", kind: "positive", expected: "valid in both libs (timestamp re-serialised before MAC)", body_bytes: JB,
  headers: { "webhook-id": ID, "webhook-timestamp": `0${T}`, "webhook-signature": S }, sig: S, signed_ts: T, made_by: "json_body signature, timestamp header '01763800000'" });
add({ name: "neg_ts_non_numeric", kind: "negative", expected: "invalid", body_bytes: JB, headers: { "webhook-id": ID, "webhook-timestamp": "abc", "webhook-signature": S }, sig: S, made_by: "timestamp 'abc'" });
// negatives
add({ name: "neg_tampered_body", kind: "negative", expected: "invalid", body_bytes: Buffer.from(JSON_BODY.replace("contact", "kontact")), sig: S, made_by: "json_body signature, body changed" });
add({ name: "neg_wrong_secret", kind: "negative", expected: "invalid", body_bytes: JB, sig: sign(JSON_BODY, T, ID, "whsec_" + Buffer.from("wrong-secret-wrong-secret").toString("base64")), made_by: "sign with another secret" });
add({ name: "neg_wrong_msg_id", kind: "negative", expected: "invalid", body_bytes: JB, id: "msg_other", sig: S, made_by: "json_body signature, webhook-id changed" });
add({ name: "neg_truncated_signature_4chars", kind: "negative", expected: "invalid", body_bytes: JB, sig: S.slice(0, -4), made_by: "signature minus last 4 base64 chars" });
add({ name: "neg_truncated_signature_1char", kind: "negative", expected: "invalid", body_bytes: JB, sig: S.slice(0, -1), made_by: "signature minus trailing '='" });
add({ name: "neg_empty_signature_v1_comma", kind: "negative", expected: "invalid (svix Rust < 1.17.0 accepted it: RUSTSEC-2024-0010 / PR 1190)", body_bytes: JB, sig: "v1,", made_by: "literal 'v1,'" });
add({ name: "neg_signature_v1_no_comma", kind: "negative", expected: "invalid", body_bytes: JB, sig: "v1", made_by: "literal 'v1'" });
add({ name: "neg_signature_header_empty", kind: "negative", expected: "invalid", body_bytes: JB, sig: "", made_by: "''" });
add({ name: "junk_char_inside_base64", kind: "negative", expected: "invalid (JS); Python lib ACCEPTS (b64decode drops non-alphabet chars)", body_bytes: JB, sig: S.slice(0, 10) + "!" + S.slice(10), made_by: "'!' inserted into a valid signature" });
add({ name: "neg_unpadded_base64", kind: "negative", expected: "invalid", body_bytes: JB, sig: S.replace(/=+$/, ""), made_by: "valid signature with '=' padding removed" });
add({ name: "neg_uppercase_version", kind: "negative", expected: "invalid", body_bytes: JB, sig: "V1," + S.slice(3), made_by: "'V1,' prefix" });
add({ name: "comma_space_separated_list", kind: "negative", expected: "JS: valid (first entry 'v1,<sig>,' split keeps [v1,<sig>]); Python: ValueError", body_bytes: JB,
  sig: `${S}, ${sign(JSON_BODY, T, ID, OTHER)}`, made_by: "'v1,<good>, v1,<other>' (what Node's http layer produces when the header is sent twice)" });
add({ name: "double_space_separator", kind: "negative", expected: "JS: valid; Python: ValueError on empty entry", body_bytes: JB, sig: `${sign(JSON_BODY, T, ID, OTHER)}  ${S}`, made_by: "two spaces between entries" });
add({ name: "neg_svix_branded_headers_only", kind: "negative", expected: "invalid: standardwebhooks reads only webhook-* (svix lib also reads svix-*)", body_bytes: JB,
  headers: { "svix-id": ID, "svix-timestamp": String(T), "svix-signature": S }, sig: S, made_by: "json_body with svix-* header names" });
add({ name: "neg_missing_webhook_id", kind: "negative", expected: "invalid", body_bytes: JB, headers: { "webhook-timestamp": String(T), "webhook-signature": S }, sig: S, made_by: "no webhook-id" });

const doc = {
  scheme: "standardwebhooks",
  header: "webhook-signature (+ webhook-id, webhook-timestamp)",
  sdk: { name: "standardwebhooks (npm)", version: SDK_VERSION, language: "node " + process.version },
  generator: { script: "gen/standardwebhooks.mjs (+ gen/standardwebhooks_py.py adds python results)", command: "cd tests/vectors/webhooks && npm ci && node gen/standardwebhooks.mjs && .venv/bin/python gen/standardwebhooks_py.py" },
  secret: SECRET,
  key_bytes_hex: hex(KEY),
  signed_message: "`${webhook-id}.${timestamp as re-serialised integer}.` + body",
  vectors,
};
writeFileSync(new URL("../standardwebhooks.json", import.meta.url), JSON.stringify(doc, null, 2) + "\n");
for (const v of vectors) console.log(v.name.padEnd(38), JSON.stringify(v.sdk_verify_js.returned ?? v.sdk_verify_js.threw));

// Generates zoom.json: Zoom webhook vectors signed with Node's crypto exactly as Zoom's sample
// (zoom/webhook-sample index.js) computes the signature, 'v0=' + hex HMAC-SHA256(secret token,
// `v0:${x-zm-request-timestamp}:${body}`), but over the RAW body bytes; every vector is then given to
// Zoom's official Node SDK, @zoom/rivet (AwsLambdaReceiver -> CommonHttpRequest.processEvent), and to
// the sample's own check (JSON.stringify of the parsed body, plain string compare), and both answers
// are recorded. Neither SDK nor sample can sign (they only verify), hence Node's crypto.
// Run from tests/vectors/webhooks (after `npm ci`):  node gen/zoom.mjs
import { createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const { AwsLambdaReceiver } = require("@zoom/rivet/meetings");
console.debug = () => {}; // the receiver logs every event with console.debug

const RIVET = JSON.parse(readFileSync(new URL("../node_modules/@zoom/rivet/package.json", import.meta.url))).version;
const SAMPLE = "zoom/webhook-sample@e4d48a7729dfb90234ccb6c60dd395a4be1a0e96";
const SECRET = "zoom_demo_secret_token";
const TS = "1763800000";
const NOW = 1763800000; // the verifier's clock (seconds) unless a vector says otherwise

const hex = (b) => Buffer.from(b).toString("hex");
const isUtf8 = (b) => { try { new TextDecoder("utf-8", { fatal: true }).decode(b); return true; } catch { return false; } };
const message = (ts, body) => Buffer.concat([Buffer.from(`v0:${ts}:`), body]);
const sig = (secret, ts, body) => "v0=" + createHmac("sha256", secret).update(message(ts, body)).digest("hex");

const receiver = new AwsLambdaReceiver({ webhooksSecretToken: SECRET });
receiver.init({ eventEmitter: { emit: async () => {} } });
const lambda = receiver.start();
async function run(fn) {
  try { return { returned: await fn() }; } catch (e) { return { threw: `${e.constructor.name}: ${e.message}` }; }
}
// @zoom/rivet: the HTTP answer of its receiver (status and body).
const rivet = (body, headers) => run(async () => {
  const r = await lambda({ body: body.toString("utf8"), headers, isBase64Encoded: false }, {});
  return `${r.statusCode} ${r.body}`;
});
// zoom/webhook-sample at the commit above: body-parser.json() then JSON.stringify(req.body), `===`.
const sample = (body, headers) => run(() => {
  const parsed = body.length === 0 ? {} : JSON.parse(body.toString("utf8")); // body-parser gives {} for no body
  const hash = createHmac("sha256", SECRET).update(`v0:${headers["x-zm-request-timestamp"]}:${JSON.stringify(parsed)}`).digest("hex");
  return headers["x-zm-signature"] === `v0=${hash}`;
});

async function vector({ name, kind, expected, body, headers, made_by, now = NOW, note }) {
  const ts = headers["x-zm-request-timestamp"];
  const out = {
    name, kind, expected,
    secret: SECRET,
    now,
    body_utf8: isUtf8(body) ? body.toString("utf8") : null,
    body_hex: hex(body),
    body_is_valid_utf8: isUtf8(body),
    signed_message_hex: ts === undefined ? null : hex(message(ts, body)),
    headers,
    made_by,
    sdk_rivet: { call: `@zoom/rivet@${RIVET} AwsLambdaReceiver handler -> "status body"`, ...(await rivet(body, headers)) },
    sample_check: { call: `${SAMPLE} index.js check (JSON.stringify(req.body), ===)`, ...(await sample(body, headers)) },
  };
  if (note) out.note = note;
  return out;
}
const H = (signature, ts = TS) => ({ "x-zm-request-timestamp": ts, "x-zm-signature": signature, "content-type": "application/json" });
const CRYPTO = "Node crypto: 'v0=' + createHmac('sha256', secret).update(`v0:${ts}:` + raw body).digest('hex')";

const vectors = [];
const add = async (v) => vectors.push(await vector(v));

// --- positives -----------------------------------------------------------
const compact = Buffer.from('{"event":"meeting.started","payload":{"account_id":"AAAAAABBBB","object":{"id":"1234567890","uuid":"4444AAAiAAAAAiAiAiiAii==","host_id":"x1yCzABCDEfg23HiJKl4mN","topic":"My Meeting","type":2,"start_time":"2025-11-22T08:26:40Z","timezone":"America/Los_Angeles","duration":60}},"event_ts":1763800000000}');
const good = sig(SECRET, TS, compact);
await add({ name: "json_body", kind: "positive", expected: "valid", body: compact, headers: H(good), made_by: CRYPTO,
  note: "compact JSON, as Zoom sends: JSON.stringify form, so the raw bytes and the SDK's re-serialisation agree" });
const uni = Buffer.from('{"event":"user.updated","payload":{"name":"café ✓ 😀"},"event_ts":1763800000000}');
await add({ name: "unicode_body", kind: "positive", expected: "valid", body: uni, headers: H(sig(SECRET, TS, uni)), made_by: CRYPTO });
const pretty = Buffer.from('{\n  "event": "meeting.ended",\n  "payload": {"account_id": "AAAAAABBBB"},\n  "event_ts": 1763800000000\n}');
await add({ name: "pretty_json_raw_signed", kind: "positive", expected: "valid (raw bytes); the SDK re-serialises and refuses", body: pretty,
  headers: H(sig(SECRET, TS, pretty)), made_by: CRYPTO });
const escaped = Buffer.from('{"event":"user.updated","payload":{"name":"caf\\u00e9 \\/ ok"},"event_ts":1763800000000}');
await add({ name: "json_escapes_raw_signed", kind: "positive", expected: "valid (raw bytes); JSON.stringify rewrites the escapes, so the SDK refuses", body: escaped,
  headers: H(sig(SECRET, TS, escaped)), made_by: CRYPTO });
await add({ name: "empty_body", kind: "positive", expected: "valid (message 'v0:<ts>:'); the SDK cannot parse an empty body", body: Buffer.alloc(0),
  headers: H(sig(SECRET, TS, Buffer.alloc(0))), made_by: CRYPTO });
const nonutf8 = Buffer.from("7b226576656e74223a2278222c2270223a22fffec328227d", "hex"); // {"event":"x","p":"<ff fe c3 28>"}
await add({ name: "non_utf8_body", kind: "positive", expected: "valid (raw bytes); the SDK decodes with U+FFFD and refuses", body: nonutf8,
  headers: H(sig(SECRET, TS, nonutf8)), made_by: CRYPTO });
await add({ name: "ts_age_300", kind: "positive", expected: "valid: 300 s old, the edge of the window", body: compact,
  headers: H(sig(SECRET, "1763799700", compact), "1763799700"), made_by: CRYPTO });
await add({ name: "ts_ahead_300", kind: "positive", expected: "valid: 300 s ahead, the edge of the window", body: compact,
  headers: H(sig(SECRET, "1763800300", compact), "1763800300"), made_by: CRYPTO });

// --- the SDK's own rebuild of the message ----------------------------------
const reserialised = Buffer.from(JSON.stringify(JSON.parse(pretty.toString())));
await add({ name: "pretty_json_reserialized_signed", kind: "negative", expected: "invalid for a raw-bytes verifier; the SDK accepts", body: pretty,
  headers: H(sig(SECRET, TS, reserialised)), made_by: "Node crypto over JSON.stringify(JSON.parse(body)), as the SDK rebuilds it" });
await add({ name: "leading_zero_ts", kind: "negative", expected: "SDK-dependent: Rivet signs Number(ts).toString() and refuses; the sample signs the header verbatim and accepts",
  body: compact, headers: H(sig(SECRET, "01763800000", compact), "01763800000"), made_by: CRYPTO + " with ts '01763800000' verbatim" });

// --- negatives -----------------------------------------------------------
await add({ name: "tampered_body", kind: "negative", expected: "invalid", body: Buffer.from(compact.toString().replace("My Meeting", "My Meetinh")),
  headers: H(good), made_by: "json_body's signature, body changed afterwards" });
await add({ name: "wrong_secret", kind: "negative", expected: "invalid", body: compact, headers: H(sig("wrong_secret", TS, compact)),
  made_by: CRYPTO + " with secret 'wrong_secret'" });
await add({ name: "truncated_signature", kind: "negative", expected: "invalid", body: compact, headers: H(good.slice(0, 3 + 32)), made_by: "json_body's signature cut to 32 hex digits" });
await add({ name: "truncated_signature_odd", kind: "negative", expected: "invalid", body: compact, headers: H(good.slice(0, -1)), made_by: "json_body's signature minus its last hex digit" });
await add({ name: "empty_signature", kind: "negative", expected: "invalid", body: compact, headers: H("v0="), made_by: "literal 'v0='" });
await add({ name: "empty_header_value", kind: "negative", expected: "invalid", body: compact, headers: H(""), made_by: "literal ''" });
await add({ name: "no_v0_prefix", kind: "negative", expected: "invalid", body: compact, headers: H(good.slice(3)), made_by: "json_body's hex without 'v0='" });
await add({ name: "v1_prefix", kind: "negative", expected: "invalid", body: compact, headers: H("v1=" + good.slice(3)), made_by: "json_body's hex after 'v1='" });
await add({ name: "uppercase_hex", kind: "negative", expected: "SDK refuses (string compare); the same 32 bytes", body: compact,
  headers: H("v0=" + good.slice(3).toUpperCase()), made_by: "json_body's signature, hex upper-cased" });
await add({ name: "ts_age_301", kind: "negative", expected: "invalid: 301 s old (the SDK checks no age and accepts)", body: compact,
  headers: H(sig(SECRET, "1763799699", compact), "1763799699"), made_by: CRYPTO });
await add({ name: "ts_ahead_301", kind: "negative", expected: "invalid: 301 s ahead (the SDK checks no age and accepts)", body: compact,
  headers: H(sig(SECRET, "1763800301", compact), "1763800301"), made_by: CRYPTO });
await add({ name: "ts_one_hour_old", kind: "negative", expected: "invalid: an hour old (the SDK checks no age and accepts)", body: compact,
  headers: H(sig(SECRET, "1763796400", compact), "1763796400"), made_by: CRYPTO });
await add({ name: "ts_milliseconds", kind: "negative", expected: "invalid: milliseconds read as seconds are far in the future (the SDK accepts)", body: compact,
  headers: H(sig(SECRET, "1763800000000", compact), "1763800000000"), made_by: CRYPTO });
await add({ name: "ts_not_digits", kind: "negative", expected: "invalid", body: compact,
  headers: H(sig(SECRET, "1763800000.5", compact), "1763800000.5"), made_by: CRYPTO + " with ts '1763800000.5'" });
{
  const h = H(sig(SECRET, "undefined", compact));
  delete h["x-zm-request-timestamp"];
  await add({ name: "missing_timestamp_header", kind: "negative", expected: "invalid", body: compact, headers: h,
    made_by: CRYPTO + " over 'v0:undefined:', what the sample builds without the header" });
}
{
  const h = H(good);
  delete h["x-zm-signature"];
  await add({ name: "missing_signature_header", kind: "negative", expected: "invalid", body: compact, headers: h, made_by: "no x-zm-signature" });
}

// --- the endpoint.url_validation handshake ---------------------------------
// Answered by the receiver itself, never by the handler: kept out of `vectors` (whose accepted ones
// reach a handler) and checked on their own.
const plainToken = "qgg8vlvZRS6UYooatFL8Aw";
const challenge = Buffer.from(`{"payload":{"plainToken":"${plainToken}"},"event_ts":1763800000000,"event":"endpoint.url_validation"}`);
const encryptedToken = createHmac("sha256", SECRET).update(plainToken).digest("hex");
const handshakes = [
  {
    ...(await vector({ name: "url_validation", kind: "handshake", expected: "answered 200 with response_json", body: challenge,
      headers: H(sig(SECRET, TS, challenge)), made_by: CRYPTO })),
    plain_token: plainToken,
    encrypted_token: encryptedToken,
    encrypted_token_made_by: "Node crypto: createHmac('sha256', secret).update(plainToken).digest('hex'), as @zoom/rivet's hashUrlValidationEvent",
    response_json: JSON.stringify({ plainToken, encryptedToken }),
    response_json_made_by: "JSON.stringify({ plainToken, encryptedToken }), as zoom/webhook-sample answers",
  },
  await vector({ name: "url_validation_wrong_secret", kind: "handshake", expected: "refused, not answered", body: challenge,
    headers: H(sig("wrong_secret", TS, challenge)), made_by: CRYPTO + " with secret 'wrong_secret'" }),
  await vector({ name: "url_validation_unsigned", kind: "handshake", expected: "refused, not answered", body: challenge,
    headers: { "x-zm-request-timestamp": TS, "content-type": "application/json" }, made_by: "no x-zm-signature" }),
];
if (encryptedToken !== "a4c57e0fb3d36dee0a81dc645cf7b37e65d18071cb80718b789c09efb3f7f888") throw new Error("encryptedToken changed");
if (!handshakes[0].sdk_rivet.returned.includes(encryptedToken)) throw new Error("Rivet answered another encryptedToken");

const doc = {
  scheme: "zoom",
  headers: "x-zm-signature: v0=<hex HMAC-SHA256>; x-zm-request-timestamp: <unix seconds>",
  sdk: { name: "@zoom/rivet", version: RIVET, language: "node " + process.version, also: SAMPLE },
  generator: { script: "gen/zoom.mjs", command: "cd tests/vectors/webhooks && npm ci && node gen/zoom.mjs" },
  secret: SECRET,
  key_bytes_hex: hex(Buffer.from(SECRET, "utf8")),
  signed_message: "'v0:' + x-zm-request-timestamp + ':' + raw body bytes",
  vectors,
  handshakes,
};
writeFileSync(new URL("../zoom.json", import.meta.url), JSON.stringify(doc, null, 2) + "\n");
for (const v of [...vectors, ...handshakes]) console.log(v.name.padEnd(34), JSON.stringify(v.sdk_rivet.returned ?? v.sdk_rivet.threw).slice(0, 70), "| sample:", JSON.stringify(v.sample_check.returned ?? v.sample_check.threw));

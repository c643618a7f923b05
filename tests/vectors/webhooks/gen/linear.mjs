// Generates linear.json: Linear webhook vectors signed with Node's crypto as Linear signs,
// hex HMAC-SHA256(secret, raw body), with the freshness in the body's webhookTimestamp (ms); each
// vector is given to Linear's official SDK, @linear/sdk's LinearWebhookClient (verify(rawBody,
// signature) and the Fetch handler of createHandler()), with its clock frozen at the vector's `now`,
// and both answers are recorded. The SDK can verify but not sign, hence Node's crypto.
// `now` is in whole seconds; the edges of the 60 s window are reached to the millisecond by moving
// webhookTimestamp instead.
// Run from tests/vectors/webhooks (after `npm ci`):  node gen/linear.mjs
import { createHmac } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { LinearWebhookClient } from "@linear/sdk/webhooks";

const SDK_VERSION = JSON.parse(readFileSync(new URL("../node_modules/@linear/sdk/package.json", import.meta.url))).version;
const SECRET = "lin_wh_demo_secret";
const NOW = 1763800001; // the verifier's clock, seconds
const NOW_MS = NOW * 1000;
const TS = 1763800000000; // webhookTimestamp of most vectors: one second before NOW
const DELIVERY = "234d1a4e-b617-4388-90fe-adc3633d6b72";

const hex = (b) => Buffer.from(b).toString("hex");
const isUtf8 = (b) => { try { new TextDecoder("utf-8", { fatal: true }).decode(b); return true; } catch { return false; } };
const hmac = (secret, body) => createHmac("sha256", secret).update(body).digest("hex");
const CRYPTO = "Node crypto: createHmac('sha256', secret).update(rawBody).digest('hex')";

const client = new LinearWebhookClient(SECRET);
const handler = client.createHandler();

// Date.now() and new Date() frozen at `ms` while fn runs.
async function atTime(ms, fn) {
  const Real = globalThis.Date;
  class Frozen extends Real {
    constructor(...a) { if (a.length === 0) super(ms); else super(...a); }
    static now() { return ms; }
  }
  globalThis.Date = Frozen;
  try { return await fn(); } finally { globalThis.Date = Real; }
}
async function run(fn) {
  try { return { returned: await fn() }; } catch (e) { return { threw: `${e.constructor.name}: ${e.message}` }; }
}

const vectors = [];
async function add({ name, kind, expected, body, signature, made_by = CRYPTO, now = NOW, extra = {}, note }) {
  const headers = { "Linear-Delivery": DELIVERY, "Linear-Event": "Issue", "Content-Type": "application/json", ...extra };
  if (signature !== null) headers["Linear-Signature"] = signature;
  const out = {
    name, kind, expected,
    secret: SECRET,
    now,
    body_utf8: isUtf8(body) ? body.toString("utf8") : null,
    body_hex: hex(body),
    body_is_valid_utf8: isUtf8(body),
    signed_message_hex: hex(body),
    headers,
    made_by,
    sdk_verify: {
      call: `@linear/sdk@${SDK_VERSION} new LinearWebhookClient(secret).verify(rawBodyBuffer, signature)`,
      ...(signature === null ? { not_run: "no signature" } : await atTime(now * 1000, () => run(() => client.verify(body, signature)))),
    },
    sdk_handler: {
      call: `@linear/sdk@${SDK_VERSION} LinearWebhookClient(secret).createHandler() on a fetch Request -> "status body"`,
      ...(await atTime(now * 1000, () => run(async () => {
        const r = await handler(new Request("http://127.0.0.1/linear", { method: "POST", headers, body }));
        return `${r.status} ${await r.text()}`;
      }))),
    },
  };
  if (note) out.note = note;
  vectors.push(out);
}

const J = (obj) => Buffer.from(JSON.stringify(obj));
const base = { action: "create", type: "Issue", createdAt: "2025-11-22T08:26:40.000Z", organizationId: "org_demo",
  data: { id: "issue_1", title: "Demo issue" }, url: "https://linear.app/demo/issue/DEMO-1", webhookTimestamp: TS, webhookId: "wh_demo" };
const at = (ms) => J({ ...base, webhookTimestamp: ms });
const body = J(base);
const good = hmac(SECRET, body);
const signed = (b) => ({ body: b, signature: hmac(SECRET, b) });

// --- positives -----------------------------------------------------------
await add({ name: "json_body", kind: "positive", expected: "valid", ...signed(body) });
await add({ name: "unicode_body", kind: "positive", expected: "valid", ...signed(J({ ...base, data: { id: "issue_1", title: "café ✓ 😀" } })) });
await add({ name: "pretty_json_raw", kind: "positive", expected: "valid: the HMAC is over the raw bytes", ...signed(Buffer.from(JSON.stringify(base, null, 2))) });
{
  const b = Buffer.concat([Buffer.from(`{"type":"Issue","webhookTimestamp":${TS},"data":{"title":"`), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}}')]);
  await add({ name: "non_utf8_body", kind: "positive", expected: "valid: bytes that are not UTF-8 inside a string", ...signed(b),
    note: "the SDK HMACs the Buffer and parses the lossily decoded text, which still holds the timestamp" });
}
await add({ name: "age_60000ms", kind: "positive", expected: "valid: the edge of the window", ...signed(at(NOW_MS - 60000)) });
await add({ name: "ahead_60000ms", kind: "positive", expected: "valid: the edge of the window", ...signed(at(NOW_MS + 60000)) });
await add({ name: "uppercase_hex", kind: "positive", expected: "the same 32 bytes; the SDK compares hex text and refuses", body, signature: good.toUpperCase(),
  made_by: "json_body's signature, hex upper-cased" });

// --- refused for their timestamp (after the signature verified) -------------
await add({ name: "age_60001ms", kind: "negative", expected: "invalid: 1 ms past the window", ...signed(at(NOW_MS - 60001)) });
await add({ name: "ahead_60001ms", kind: "negative", expected: "invalid: 1 ms ahead of the window (two-sided)", ...signed(at(NOW_MS + 60001)) });
await add({ name: "timestamp_seconds", kind: "negative", expected: "invalid: seconds read as milliseconds are 56 years old", ...signed(at(NOW)) });
await add({ name: "timestamp_string", kind: "negative", expected: "invalid: a string", ...signed(at(String(TS))) });
await add({ name: "timestamp_fraction", kind: "negative", expected: "SDK accepts any finite number; not an integer", ...signed(Buffer.from(`{"type":"Issue","webhookTimestamp":${TS}.5}`)) });
await add({ name: "timestamp_exponent", kind: "negative", expected: "SDK accepts any finite number; not an integer literal", ...signed(Buffer.from(`{"type":"Issue","webhookTimestamp":1.763800000e12}`)) });
await add({ name: "timestamp_null", kind: "negative", expected: "invalid: null", ...signed(at(null)) });
{
  const { webhookTimestamp, ...noTs } = base;
  await add({ name: "timestamp_missing", kind: "negative", expected: "invalid: no webhookTimestamp", ...signed(J(noTs)) });
  await add({ name: "timestamp_header_only", kind: "negative", expected: "invalid: the legacy Linear-Timestamp header is not signed; the SDK ignores it",
    ...signed(J(noTs)), extra: { "Linear-Timestamp": String(TS) } });
  await add({ name: "timestamp_nested_only", kind: "negative", expected: "invalid: only the top level counts", ...signed(J({ ...noTs, data: { webhookTimestamp: TS } })) });
}
await add({ name: "timestamp_twice_stale_then_fresh", kind: "negative", expected: "SDK (JSON.parse keeps the last) accepts; ambiguous, refused",
  ...signed(Buffer.from(`{"webhookTimestamp":${NOW_MS - 3600000},"type":"Issue","webhookTimestamp":${TS}}`)) });
await add({ name: "empty_body", kind: "negative", expected: "invalid: not JSON", ...signed(Buffer.alloc(0)) });
await add({ name: "non_json_body", kind: "negative", expected: "invalid: not JSON", ...signed(Buffer.from("hello")) });
await add({ name: "json_array_body", kind: "negative", expected: "invalid: not an object", ...signed(J([base])) });

// --- refused for their signature -----------------------------------------
await add({ name: "tampered_body", kind: "negative", expected: "invalid", body: J({ ...base, action: "remove" }), signature: good, made_by: "json_body's signature, body changed afterwards" });
await add({ name: "tampered_timestamp", kind: "negative", expected: "invalid", body: at(TS + 1), signature: good, made_by: "json_body's signature, webhookTimestamp changed afterwards" });
await add({ name: "stale_and_wrong_secret", kind: "negative", expected: "invalid: the signature is checked first", body: at(NOW_MS - 3600000),
  signature: hmac("lin_wh_wrong", at(NOW_MS - 3600000)), made_by: CRYPTO + " with secret 'lin_wh_wrong'" });
await add({ name: "wrong_secret", kind: "negative", expected: "invalid", body, signature: hmac("lin_wh_wrong", body), made_by: CRYPTO + " with secret 'lin_wh_wrong'" });
await add({ name: "truncated_signature", kind: "negative", expected: "invalid", body, signature: good.slice(0, 32), made_by: "json_body's signature cut to 32 hex digits" });
await add({ name: "truncated_signature_odd", kind: "negative", expected: "invalid", body, signature: good.slice(0, -1), made_by: "json_body's signature minus its last hex digit" });
await add({ name: "empty_signature", kind: "negative", expected: "invalid", body, signature: "", made_by: "literal ''" });
await add({ name: "missing_signature", kind: "negative", expected: "invalid", body, signature: null, made_by: "no Linear-Signature" });
await add({ name: "sha256_prefix", kind: "negative", expected: "invalid", body, signature: "sha256=" + good, made_by: "json_body's signature after 'sha256='" });

const doc = {
  scheme: "linear",
  headers: "Linear-Signature: <hex HMAC-SHA256(raw body)>; Linear-Delivery: <uuid> (not signed); Linear-Event: <type>",
  sdk: { name: "@linear/sdk", version: SDK_VERSION, entry: "@linear/sdk/webhooks LinearWebhookClient", language: "node " + process.version },
  generator: { script: "gen/linear.mjs", command: "cd tests/vectors/webhooks && npm ci && node gen/linear.mjs" },
  secret: SECRET,
  key_bytes_hex: hex(Buffer.from(SECRET, "utf8")),
  signed_message: "raw request body bytes; freshness from the body's top-level webhookTimestamp (ms), 60 s each way",
  vectors,
};
writeFileSync(new URL("../linear.json", import.meta.url), JSON.stringify(doc, null, 2) + "\n");
for (const v of vectors) console.log(v.name.padEnd(34), JSON.stringify(v.sdk_verify.returned ?? v.sdk_verify.threw ?? v.sdk_verify.not_run), "|", v.sdk_handler.returned ?? v.sdk_handler.threw);

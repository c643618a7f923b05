// Adds @paddle/paddle-node-sdk results to paddle.json and cross-checks each signature with Node
// crypto. Clock frozen at each vector's "now".
// Run from tests/vectors/webhooks (after `npm ci`), after gen/paddle.py:  node gen/paddle_node.mjs
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
function pkgVersion(name) {
  const p = path.join(ROOT, 'node_modules', name, 'package.json');
  return `${name}@${JSON.parse(fs.readFileSync(p, 'utf8')).version}`;
}
// Freeze the clock seen by `new Date()` and `Date.now()` while fn runs (fn may be async).
async function atTime(ms, fn) {
  const Real = globalThis.Date;
  class FakeDate extends Real {
    constructor(...a) { if (a.length === 0) super(ms); else super(...a); }
    static now() { return ms; }
  }
  globalThis.Date = FakeDate;
  try { return await fn(); } finally { globalThis.Date = Real; }
}
async function outcome(fn) {
  try {
    const r = await fn();
    return { returned: (r === null || ['boolean', 'number', 'string', 'undefined'].includes(typeof r)) ? (r === undefined ? 'undefined' : r) : JSON.stringify(r) };
  } catch (e) {
    return { raised: `${e?.constructor?.name ?? 'Error'}: ${e?.message ?? e}` };
  }
}
const readVec = (scheme) => JSON.parse(fs.readFileSync(path.join(ROOT, `${scheme}.json`), 'utf8'));
function writeVec(scheme, doc) {
  doc.node = process.version;
  fs.writeFileSync(path.join(ROOT, `${scheme}.json`), JSON.stringify(doc, null, 2) + '\n');
  console.log(`wrote ${scheme}.json`, (doc.vectors || []).length, 'vectors');
}
const { Paddle, Webhooks } = require('@paddle/paddle-node-sdk');
// NB: the SDK's crypto provider is only registered by `new Paddle(...)`; a bare `new Webhooks()`
// before that logs 'Unknown runtime' and returns false for everything (recorded below).
const bare = await new Webhooks().isSignatureValid('{}', 'x', 'ts=1;h1=ab');
const paddle = new Paddle('pdl_sdbx_apikey_demo_not_used');

const doc = readVec('paddle');
const label = `${pkgVersion('@paddle/paddle-node-sdk')} new Paddle(apiKey).webhooks.isSignatureValid(rawBody.toString('utf8'), secret, header)`;
for (const v of doc.vectors) {
  const body = Buffer.from(v.body_hex, 'hex');
  const header = v.headers['Paddle-Signature'];
  // cross-check: Node crypto over the raw signed message must equal the h1 made with signing_secret
  const msg = Buffer.from(v.signed_message_hex, 'hex');
  v.node_crypto_hmac_signing_secret = crypto.createHmac('sha256', v.signing_secret).update(msg).digest('hex');
  v.sdk_results[label] = header === undefined
    ? { not_run: 'no header (SDK needs the header string)' }
    : await atTime(v.now * 1000, () => outcome(() => paddle.webhooks.isSignatureValid(body.toString('utf8'), v.secret, header)));
}
doc.node_sdk_note = `new Webhooks().isSignatureValid before any new Paddle(): returned ${bare} (crypto provider not initialised)`;
doc.packages = [...new Set([...(doc.packages || []), pkgVersion('@paddle/paddle-node-sdk')])];
writeVec('paddle', doc);
for (const v of doc.vectors) console.log(v.name.padEnd(24), v.expected_by_scheme.padEnd(16), JSON.stringify(Object.values(v.sdk_results)));

// Sends webhook deliveries to the mock's `/webhooks/{provider}` route, signed by the vendor's own
// code with the mock's demo secret and the current time, the way the vendor's servers sign them.
//
//   node sign_and_send.mjs <provider> <base URL of the mock, like http://127.0.0.1:8080>
//
// Signed by the vendor's official SDK (tests/snippets/package.json pins the versions):
//   github    @octokit/webhooks-methods  sign(secret, payload)
//   stripe    stripe                     stripe.webhooks.generateTestHeaderString({payload, secret})
//   standard  standardwebhooks           new Webhook(secret).sign(msgId, date, payload)
//   twilio    twilio                     getExpectedTwilioSignature(authToken, url, params), and
//                                        getExpectedBodyHash(body) for a JSON body's bodySHA256
// No SDK of these vendors signs a webhook, so these are signed with the vendor's documented
// code, Node's crypto as their docs write it:
//   shopify   base64 HMAC-SHA256 of the raw body (shopify.dev, "Verify the webhook")
//   paddle    ts=...;h1=<hex HMAC-SHA256 of "{ts}:{body}"> (developer.paddle.com, "Verify
//             webhook signatures")
//   zoom      v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">, and the endpoint.url_validation
//             challenge (zoom/webhook-sample, index.js)
//   linear    hex HMAC-SHA256 of the raw body, webhookTimestamp (ms) in the body (Linear's
//             developer docs, "Securing webhooks")
// Slack's signer is Python (slack_sdk): sign_and_send.py.
//
// For each delivery it sends the signed request, then (where it says so) an exact copy of it, then
// a copy with a letter of the body changed (or, for a GET, a query value changed) under the same
// signature. It prints one JSON line per request sent: {"name", "status", "body_hex", "id" (the
// delivery id header sent, or null), "reply" (the answer's body)}.
//
// Written for this test suite from the vendors' documented examples; what was changed from them:
// the secrets are the mock's demo credentials, the URL is the mock's, and the copies are sent to
// show what the receiver does with them.
import { createHmac, randomUUID } from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

const [provider, base] = process.argv.slice(2);

// The mock's demo credentials (the issue's table; tower_hmac::mock's defaults).
const SECRETS = {
  github: "It's a Secret to Everybody",
  stripe: "whsec_test_secret",
  standard: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  shopify: "shopify_demo_secret",
  paddle: "pdl_ntfset_demo_secret",
  zoom: "zoom_demo_secret_token",
  twilio: "12345",
  linear: "lin_wh_demo_secret",
};

const nowSeconds = () => Math.floor(Date.now() / 1000);
const hmac = (key, data, encoding) => createHmac("sha256", key).update(data).digest(encoding);

/// A delivery: the request the vendor sends, and what to send after it.
function delivery(name, { method = "POST", url, headers, body, id = null, copy = true }) {
  return { name, method, url, headers, body: body === undefined ? null : Buffer.from(body), id, copy };
}

const DELIVERIES = {
  async github(url, secret) {
    const { sign } = await import("@octokit/webhooks-methods");
    const body = '{"zen":"Keep it logically awesome.","hook_id":123,"sender":{"login":"renée"}}';
    const id = randomUUID();
    const headers = {
      "X-Hub-Signature-256": await sign(secret, body),
      "X-GitHub-Delivery": id,
      "X-GitHub-Event": "ping",
      "Content-Type": "application/json",
    };
    return [delivery("event", { url, headers, body, id })];
  },

  async stripe(url, secret) {
    const Stripe = require("stripe");
    const stripe = new Stripe("sk_test_not_used");
    const body = '{"id":"evt_1","object":"event","type":"invoice.paid","data":{"object":{"customer_name":"Zoë"}}}';
    const headers = {
      "Stripe-Signature": stripe.webhooks.generateTestHeaderString({ payload: body, secret }),
      "Content-Type": "application/json; charset=utf-8",
    };
    return [delivery("event", { url, headers, body })];
  },

  async standard(url, secret) {
    const { Webhook } = require("standardwebhooks");
    const body = '{"type":"contact.created","data":{"name":"José"}}';
    const id = "msg_" + randomUUID().replaceAll("-", "");
    const at = new Date(nowSeconds() * 1000);
    const headers = {
      "webhook-id": id,
      "webhook-timestamp": String(at.getTime() / 1000),
      "webhook-signature": new Webhook(secret).sign(id, at, body),
      "Content-Type": "application/json",
    };
    return [delivery("event", { url, headers, body, id })];
  },

  async shopify(url, secret) {
    const body = '{"id":820982911946154508,"email":"jon@example.com","note":"façade"}';
    const id = randomUUID();
    const headers = {
      "X-Shopify-Hmac-Sha256": createHmac("sha256", secret).update(body, "utf8").digest("base64"),
      "X-Shopify-Topic": "orders/create",
      "X-Shopify-Shop-Domain": "demo-shop.myshopify.com",
      "X-Shopify-API-Version": "2025-10",
      "X-Shopify-Webhook-Id": id,
      "Content-Type": "application/json",
    };
    return [delivery("event", { url, headers, body, id })];
  },

  async paddle(url, secret) {
    const body = '{"event_id":"evt_1","event_type":"transaction.completed","data":{"customer":"Zoë"}}';
    const ts = nowSeconds();
    const headers = {
      "Paddle-Signature": `ts=${ts};h1=${hmac(secret, `${ts}:${body}`, "hex")}`,
      "Content-Type": "application/json",
    };
    return [delivery("event", { url, headers, body })];
  },

  async zoom(url, secret) {
    const signed = (body) => {
      const ts = String(nowSeconds());
      return {
        "x-zm-request-timestamp": ts,
        "x-zm-signature": `v0=${hmac(secret, `v0:${ts}:${body}`, "hex")}`,
        "Content-Type": "application/json",
      };
    };
    // Zoom signs the body it sends; the sample signs JSON.stringify of the parsed body, which is
    // the same bytes for a body in JSON.stringify's form, as these are.
    const event = JSON.stringify({
      event: "meeting.started",
      payload: { account_id: "AAAAAABBBB", object: { id: "1234567890", topic: "Café" } },
      event_ts: Date.now(),
    });
    const challenge = JSON.stringify({
      payload: { plainToken: "qgg8vlvZRS6UYooatFL8Aw" },
      event_ts: Date.now(),
      event: "endpoint.url_validation",
    });
    return [
      delivery("event", { url, headers: signed(event), body: event }),
      delivery("url_validation", { url, headers: signed(challenge), body: challenge, copy: false }),
    ];
  },

  async twilio(url, token) {
    const twilio = require("twilio");
    // A form POST: the URL, then each parameter sorted by name, each distinct value sorted.
    const params = {
      CallSid: "CA1234567890ABCDE",
      From: "+14158675310",
      To: "+18005551212",
      Body: "Hello, Zoë & co",
      MediaUrl: ["https://example.com/b.png", "https://example.com/a.png"],
    };
    const form = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      for (const v of [value].flat()) form.append(name, v);
    }
    const formHeaders = {
      "X-Twilio-Signature": twilio.getExpectedTwilioSignature(token, url, params),
      "Content-Type": "application/x-www-form-urlencoded",
    };
    // A GET: the URL alone, its query included.
    const get = `${url}?CallSid=CA1234567890ABCDE&From=%2B14158675310`;
    const getHeaders = { "X-Twilio-Signature": twilio.getExpectedTwilioSignature(token, get, {}) };
    // A JSON body: its SHA-256 in the URL's bodySHA256, the URL signed alone.
    const json = '{"event":"message.delivered","to":"+18005551212"}';
    const jsonUrl = `${url}?bodySHA256=${twilio.getExpectedBodyHash(json)}`;
    const jsonHeaders = {
      "X-Twilio-Signature": twilio.getExpectedTwilioSignature(token, jsonUrl, {}),
      "Content-Type": "application/json",
    };
    return [
      delivery("form", { url, headers: formHeaders, body: form.toString() }),
      delivery("get", { method: "GET", url: get, headers: getHeaders }),
      delivery("json", { url: jsonUrl, headers: jsonHeaders, body: json }),
    ];
  },

  async linear(url, secret) {
    const body = JSON.stringify({
      action: "create",
      type: "Issue",
      data: { id: "issue_1", title: "Déjà vu" },
      webhookTimestamp: Date.now(),
    });
    const id = randomUUID();
    const headers = {
      "Linear-Signature": hmac(secret, body, "hex"),
      "Linear-Delivery": id,
      "Linear-Event": "Issue",
      "Content-Type": "application/json; charset=utf-8",
    };
    return [delivery("event", { url, headers, body, id })];
  },
};

if (!(provider in DELIVERIES) || !base) {
  console.error(`usage: node sign_and_send.mjs <${Object.keys(DELIVERIES).join("|")}> <base URL>`);
  process.exit(2);
}

async function send(name, { method, url, headers, body }, id) {
  const response = await fetch(url, { method, headers, body });
  const reply = await response.text();
  const body_hex = body ? body.toString("hex") : "";
  console.log(JSON.stringify({ name, status: response.status, body_hex, id, reply }));
}

/// The same request with the case of the body's last ASCII letter changed (still JSON, still a
/// form), or for a bodiless GET its last query character changed: what the signature covers,
/// tampered with.
function tampered(request) {
  if (request.body && request.body.length > 0) {
    const body = Buffer.from(request.body);
    const at = body.findLastIndex((byte) => /[A-Za-z]/.test(String.fromCharCode(byte)));
    body[at] ^= 0x20;
    return { ...request, body };
  }
  const last = request.url.length - 1;
  const url = request.url.slice(0, last) + String.fromCharCode(request.url.charCodeAt(last) ^ 0x01);
  return { ...request, url };
}

const url = `${base}/webhooks/${provider}`;
for (const request of await DELIVERIES[provider](url, SECRETS[provider])) {
  await send(request.name, request, request.id);
  if (request.copy) await send(`${request.name} copy`, request, request.id);
  await send(`${request.name} tampered`, tampered(request), request.id);
}

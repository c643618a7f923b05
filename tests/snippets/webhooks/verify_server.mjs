// A webhook receiver that checks deliveries with the vendor's official SDK and the mock's demo
// secret, for the crate's signers to be checked against.
//
//   node verify_server.mjs <provider>
//
// Listens on a free loopback port and prints `listening <port>` once ready. Every request (any
// method, any path) is checked over its raw body bytes and headers exactly as received and
// answered 200 {"ok":true}, or 401 {"ok":false,"reason":...} with what the SDK said.
//
// The SDK call that verifies (tests/snippets/package.json pins the versions):
//   github    @octokit/webhooks-methods   verify(secret, payload, X-Hub-Signature-256)
//   stripe    stripe                      stripe.webhooks.constructEvent(body, Stripe-Signature,
//                                         secret), its default 300 s tolerance
//   standard  standardwebhooks            new Webhook(secret).verify(body, headers)
//   shopify   @shopify/shopify-api        shopify.webhooks.validate({rawBody, rawRequest, rawResponse})
//   paddle    @paddle/paddle-node-sdk     paddle.webhooks.isSignatureValid(body, secret, Paddle-Signature)
//   zoom      @zoom/rivet                 the meetings AwsLambdaReceiver's handler (Rivet's verifier)
//   linear    @linear/sdk                 new LinearWebhookClient(secret).verify(body, Linear-Signature)
//   twilio    twilio                      validateRequest(token, X-Twilio-Signature, url, params),
//                                         validateRequestWithBody when the URL has bodySHA256
//   discord   discord-interactions        verifyKey(rawBody, X-Signature-Ed25519,
//                                         X-Signature-Timestamp, public key in hex)
// (No published Standard Webhooks library verifies v1a, Ed25519: none for standard-ed25519.)
// Slack's verifier is Python (slack_sdk): verify_server.py.
//
// Adapted from each SDK's documented receiving example: the secret is the mock's demo secret and
// the answer is a plain status instead of the application's handling.
import http from "node:http";
import querystring from "node:querystring";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

const SECRETS = {
  github: "It's a Secret to Everybody",
  stripe: "whsec_test_secret",
  standard: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  shopify: "shopify_demo_secret",
  paddle: "pdl_ntfset_demo_secret",
  zoom: "zoom_demo_secret_token",
  twilio: "12345",
  linear: "lin_wh_demo_secret",
  // Discord's receiver holds the application's public key (the demo one: RFC 8032's test 1).
  discord: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
};

const header = (req, name) => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/// For each provider, (secret) => async (req, res, rawBody, origin) => true | false | throws.
const VERIFIERS = {
  async github(secret) {
    const { verify } = await import("@octokit/webhooks-methods");
    // The SDK takes the payload as a string (what @octokit/webhooks hands it).
    return (req, _res, raw) => verify(secret, raw.toString("utf8"), header(req, "x-hub-signature-256"));
  },

  async stripe(secret) {
    const Stripe = require("stripe");
    const stripe = new Stripe("sk_test_not_used");
    return (req, _res, raw) => {
      stripe.webhooks.constructEvent(raw, header(req, "stripe-signature"), secret);
      return true;
    };
  },

  async standard(secret) {
    const { Webhook } = require("standardwebhooks");
    const webhook = new Webhook(secret);
    return (req, _res, raw) => {
      webhook.verify(raw, req.headers);
      return true;
    };
  },

  async shopify(secret) {
    await import("@shopify/shopify-api/adapters/node");
    const { shopifyApi, ApiVersion, LogSeverity } = await import("@shopify/shopify-api");
    const shopify = shopifyApi({
      apiKey: "demo_api_key",
      apiSecretKey: secret,
      scopes: [],
      hostName: "localhost",
      apiVersion: ApiVersion.October25,
      isEmbeddedApp: false,
      logger: { level: LogSeverity.Error, log: () => {} },
    });
    return async (req, res, raw) => {
      const check = await shopify.webhooks.validate({ rawBody: raw.toString("utf8"), rawRequest: req, rawResponse: res });
      if (!check.valid) throw new Error(`${check.reason} ${check.missingHeaders ?? ""}`.trim());
      return true;
    };
  },

  async paddle(secret) {
    const { Paddle } = require("@paddle/paddle-node-sdk");
    // The Paddle constructor registers the SDK's Node crypto provider.
    const paddle = new Paddle("pdl_apikey_not_used");
    return (req, _res, raw) => paddle.webhooks.isSignatureValid(raw.toString("utf8"), secret, header(req, "paddle-signature"));
  },

  async zoom(secret) {
    console.debug = () => {};
    const { AwsLambdaReceiver } = require("@zoom/rivet/meetings");
    const receiver = new AwsLambdaReceiver({ webhooksSecretToken: secret });
    receiver.init({ eventEmitter: { emit: async () => {} } });
    const handler = receiver.start();
    return async (req, _res, raw) => {
      const out = await handler({ body: raw.toString("utf8"), headers: req.headers, isBase64Encoded: false }, {});
      if (out.statusCode !== 200) throw new Error(`${out.statusCode} ${out.body}`);
      return true;
    };
  },

  async linear(secret) {
    const { LinearWebhookClient } = await import("@linear/sdk/webhooks");
    const client = new LinearWebhookClient(secret);
    return (req, _res, raw) => client.verify(raw, header(req, "linear-signature"));
  },

  async discord(publicKey) {
    const { verifyKey } = await import("discord-interactions");
    return (req, _res, raw) =>
      verifyKey(raw, header(req, "x-signature-ed25519"), header(req, "x-signature-timestamp"), publicKey);
  },

  async twilio(token) {
    const twilio = require("twilio");
    return (req, _res, raw, origin) => {
      const signature = header(req, "x-twilio-signature") ?? "";
      const url = origin + req.url;
      if (url.includes("bodySHA256")) return twilio.validateRequestWithBody(token, signature, url, raw);
      const form = (header(req, "content-type") ?? "").startsWith("application/x-www-form-urlencoded");
      const params = form ? querystring.parse(raw.toString("utf8")) : {};
      return twilio.validateRequest(token, signature, url, params);
    };
  },
};

const [provider] = process.argv.slice(2);
if (!(provider in VERIFIERS)) {
  console.error(`usage: node verify_server.mjs <${Object.keys(VERIFIERS).join("|")}>`);
  process.exit(2);
}
const verify = await VERIFIERS[provider](SECRETS[provider]);

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", async () => {
    let ok = false;
    let reason = "the SDK returned false";
    try {
      const origin = `http://127.0.0.1:${server.address().port}`;
      ok = (await verify(req, res, Buffer.concat(chunks), origin)) === true;
    } catch (error) {
      reason = `${error.constructor.name}: ${String(error.message).split("\n")[0]}`;
    }
    res.writeHead(ok ? 200 : 401, { "Content-Type": "application/json" });
    res.end(JSON.stringify(ok ? { ok } : { ok, reason }));
  });
});
server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));

// Verifies Ed25519-signed webhook requests the way the senders' own code does, for
// tests/webhook_discord.rs and tests/webhook_standard_ed25519.rs: each request the crate's signer
// made is checked here, outside the crate.
//
// Reads a JSON array on stdin, one object per request:
//   {"name", "scheme": "discord" | "standard-ed25519", "public_key", "headers": {..}, "body_hex"}
// and prints a JSON array of {"name", "verified": true | false, "by": "..."}.
//
// - discord: discord-interactions' verifyKey(rawBody, X-Signature-Ed25519, X-Signature-Timestamp,
//   publicKeyHex), Discord's own helper (its middleware hands it the raw body bytes);
// - standard-ed25519: Node's crypto.verify over "{webhook-id}.{webhook-timestamp}.{body}" for each
//   v1a entry (no published Standard Webhooks library verifies v1a), the public key given as whpk_.
import crypto from "node:crypto";
import { verifyKey } from "discord-interactions";

const spki = (raw) =>
  crypto.createPublicKey({
    key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]),
    format: "der",
    type: "spki",
  });

async function check(request) {
  const body = Buffer.from(request.body_hex, "hex");
  const h = request.headers;
  if (request.scheme === "discord") {
    const verified = await verifyKey(body, h["x-signature-ed25519"], h["x-signature-timestamp"], request.public_key);
    return { verified, by: "discord-interactions verifyKey" };
  }
  const key = spki(Buffer.from(request.public_key.replace(/^whpk_/, ""), "base64"));
  const message = Buffer.concat([Buffer.from(`${h["webhook-id"]}.${h["webhook-timestamp"]}.`), body]);
  const entries = h["webhook-signature"].split(" ").map((e) => e.split(",")).filter(([v]) => v === "v1a");
  const verified = entries.some(([, sig]) => crypto.verify(null, message, key, Buffer.from(sig, "base64")));
  return { verified, by: "node crypto.verify" };
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const request of JSON.parse(input)) out.push({ name: request.name, ...(await check(request)) });
console.log(JSON.stringify(out));

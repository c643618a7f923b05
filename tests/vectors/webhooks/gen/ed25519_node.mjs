// Adds Node's answers to discord.json and standard-ed25519.json (written first by gen/ed25519.py):
// every signature the generator made with RFC 8032 TEST 1's key is made again with Node's crypto
// (Ed25519 is deterministic, so the bytes must be the same), every presented signature is
// verified with crypto.verify, and every Discord request with Discord's own discord-interactions
// (verifyKey, given the raw body bytes, as its middleware does).
// Run from tests/vectors/webhooks (after `npm ci`, and gen/ed25519.py):  node gen/ed25519_node.mjs
import crypto from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { verifyKey } = require("discord-interactions");
const VERSION = JSON.parse(
  readFileSync(new URL("../node_modules/discord-interactions/package.json", import.meta.url)),
).version;
const DISCORD = `discord-interactions@${VERSION}`;
const NODE = `node ${process.version} crypto`;

// RFC 8032 TEST 1, as PKCS#8 and SPKI DER (fixed prefixes, then the raw 32 bytes).
const SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const privateKey = crypto.createPrivateKey({
  key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(SEED, "hex")]),
  format: "der",
  type: "pkcs8",
});
const publicKey = crypto.createPublicKey({
  key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(PUBLIC, "hex")]),
  format: "der",
  type: "spki",
});

async function outcome(fn) {
  try {
    return { returned: await fn() };
  } catch (e) {
    return { threw: `${e?.constructor?.name ?? "Error"}: ${e?.message ?? e}` };
  }
}

const verify = (message, signature) => outcome(() => crypto.verify(null, message, publicKey, signature));

// ---- Discord
const discordPath = new URL("../discord.json", import.meta.url);
const discord = JSON.parse(readFileSync(discordPath, "utf8"));
for (const v of [...discord.vectors, ...discord.handshakes]) {
  const body = Buffer.from(v.body_hex, "hex");
  const signature = v.headers["X-Signature-Ed25519"];
  const timestamp = v.headers["X-Signature-Timestamp"];
  if (v.kind === "positive") {
    const again = crypto.sign(null, Buffer.from(v.signed_message_hex, "hex"), privateKey).toString("hex");
    v.node_signature = again;
    v.node_signature_matches = again === signature.toLowerCase();
  }
  const message = Buffer.concat([Buffer.from(timestamp ?? ""), body]);
  v.sdk_verify_node = {
    call: `${NODE}.verify(null, timestamp + body, public key, Buffer.from(signature, 'hex'))`,
    ...(await verify(message, Buffer.from(signature ?? "", "hex"))),
  };
  v.sdk_verify_discord = {
    call: `${DISCORD} verifyKey(rawBody, signature, timestamp, publicKeyHex)`,
    ...(await outcome(() => verifyKey(body, signature, timestamp, PUBLIC))),
  };
}
discord.packages = [...new Set([...discord.packages, DISCORD])];
discord.node = process.version;
writeFileSync(discordPath, JSON.stringify(discord, null, 1) + "\n");

// ---- Standard Webhooks v1a
const standardPath = new URL("../standard-ed25519.json", import.meta.url);
const standard = JSON.parse(readFileSync(standardPath, "utf8"));
for (const v of standard.vectors) {
  const h = v.headers;
  const [id, ts, header] = ["id", "timestamp", "signature"].map((n) => h[`webhook-${n}`] ?? h[`svix-${n}`]);
  const body = Buffer.from(v.body_hex, "hex");
  const message = Buffer.concat([Buffer.from(`${id}.${ts}.`), body]);
  const entries = header.split(" ").map((e) => e.split(",")).filter(([version]) => version === "v1a");
  if (v.kind === "positive" && entries.length > 0) {
    const again = crypto.sign(null, Buffer.from(v.signed_message_hex, "hex"), privateKey).toString("base64");
    v.node_signature = again;
    v.node_signature_matches = entries.some(([, sig]) => sig === again);
  }
  v.sdk_verify_node = {
    call: `${NODE}.verify(null, id.ts.body, public key, Buffer.from(each v1a entry, 'base64'))`,
    results: await Promise.all(entries.map(([, sig]) => verify(message, Buffer.from(sig ?? "", "base64")))),
  };
}
standard.node = process.version;
writeFileSync(standardPath, JSON.stringify(standard, null, 1) + "\n");

for (const v of [...discord.vectors, ...discord.handshakes]) {
  console.log("discord", v.name.padEnd(28), v.kind.padEnd(9), v.node_signature_matches ?? "", v.sdk_verify_pynacl.returned ?? "threw",
    v.sdk_verify_node.returned ?? "threw", v.sdk_verify_discord.returned ?? v.sdk_verify_discord.threw);
}
for (const v of standard.vectors) {
  console.log("standard", v.name.padEnd(28), v.kind.padEnd(9), v.node_signature_matches ?? "",
    JSON.stringify(v.sdk_verify_pynacl.results.map((r) => r.returned ?? "threw")),
    JSON.stringify(v.sdk_verify_node.results.map((r) => r.returned ?? "threw")));
}

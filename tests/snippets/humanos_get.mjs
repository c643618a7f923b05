// Verbatim from the Humanos API docs (/work/shared/providers/humanos.md): the generateSignature
// block followed by the "Example: GET Request (no body)" block. tests/vendor_snippets.rs replaces the host
// https://api.humanos.id by the mock server's and appends one line printing the HTTP status.
import crypto from "crypto";

function generateSignature(data, secret, timestamp) {
  const hmac = crypto.createHmac("sha256", secret);
  hmac.update(data ? `${timestamp}.${data}` : timestamp.toString());
  return hmac.digest("hex");
}

import fetch from "node-fetch";

const apiKey = "YOUR_API_KEY";
const signatureSecret = "YOUR_SIGNATURE_SECRET";
const timestamp = Date.now();
const signature = generateSignature("", signatureSecret, timestamp);

const response = await fetch("https://api.humanos.id/v0/processes", {
  method: "GET",
  headers: {
    "Authorization": `Bearer ${apiKey}`,
    "X-Timestamp": timestamp.toString(),
    "X-Signature": signature
  }
});
console.log(await response.json());

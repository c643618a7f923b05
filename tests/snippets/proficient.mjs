// Proficient documents no Node client call, only a backend computing the HMAC (server.ts, Node)
// and a client request (cURL). This file is those two put together, with the HMAC header that
// HMAC authentication adds:
// - the HMAC_SECRET constant and the createHmac(...).digest("base64") lines are verbatim from
//   server.ts in /work/shared/providers/proficient.md (Express left out);
// - the request is the doc's cURL example (URL and both headers unchanged) written with Node's
//   global fetch, plus the X-PROFICIENT-USER-HMAC header.
// tests/vendor_snippets.rs replaces the host https://api.proficientai.com by the mock server's
// and appends one line printing the HTTP status.
import { createHmac } from "crypto";

// This should most likely go into your environment secrets.
// Store it securely in your backend and never expose it in the client.
const HMAC_SECRET =
  "hsec_mFLSkjGK6XLK1TUxL8wgiXrjwZCqcfmgbXTC0JmZFooSl9rQlzIrpsQHNor4guw2YOUP7vWA";

const userExternalId = "gtLIK8ELsHTr0Fajg28Ud9eFpJJ3";
const hmacHash = createHmac("sha256", HMAC_SECRET)
  .update(userExternalId)
  .digest("base64");
// --> "nyrKK9qcWqgPSdky2VE+arkyJjMFt9FD1Fxl/iNOD5U="

const response = await fetch("https://api.proficientai.com/interactions", {
  method: "GET",
  headers: {
    "X-PROFICIENT-API-KEY": "pk_40NDqyJqjBe6DJyLn44HBEgi0loTunwLdjWHhcOUGONSkpomQx0qInkWLtu0ouwSr6qqE7HQ",
    "X-PROFICIENT-USER-EXTERNAL-ID": userExternalId,
    "X-PROFICIENT-USER-HMAC": hmacHash,
  },
});
console.log(await response.json());

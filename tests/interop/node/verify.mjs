// Verifies one Tokener JWT access token (RFC 9068) with panva/jose, as a resource server would:
// the keys from the JWKS at <jwks_uri> (createRemoteJWKSet), then jwtVerify with typ at+jwt,
// ES256 only, the issuer and the audience given, and the claims RFC 9068 §2.2 requires.
//
//   node verify.mjs <jwks_uri> <issuer> <audience>   (the token on standard input)
//
// Exit 0: the token verified; prints {"header": ..., "payload": ...} as JSON on stdout.
// Exit 1: the token was refused; prints jose's error code and message on stderr, nothing on
//         stdout (e.g. "ERR_JWT_EXPIRED: \"exp\" claim timestamp check failed").
// Exit 2: wrong usage (arguments, empty input).
// The token is never printed, and never passed in argv (where other processes could read it).

import { createRemoteJWKSet, jwtVerify } from "jose";

const REQUIRED_CLAIMS = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"];

function usage(message) {
  process.stderr.write(`usage: node verify.mjs <jwks_uri> <issuer> <audience> < token\n${message}\n`);
  process.exit(2);
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8").trim();
}

const [jwksUri, issuer, audience] = process.argv.slice(2);
if (process.argv.length !== 5) usage(`expected 3 arguments, got ${process.argv.length - 2}`);
let jwks;
try {
  jwks = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 5000 });
} catch (error) {
  usage(`bad jwks_uri: ${error.message}`);
}
const token = await readStdin();
if (!token) usage("no token on standard input");

try {
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    algorithms: ["ES256"],
    typ: "at+jwt",
    issuer,
    audience,
    requiredClaims: REQUIRED_CLAIMS,
  });
  process.stdout.write(JSON.stringify({ header: protectedHeader, payload }) + "\n");
} catch (error) {
  process.stderr.write(`${error.code ?? error.name}: ${error.message}\n`);
  process.exit(1);
}

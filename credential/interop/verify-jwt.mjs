// verify-jwt.mjs checks a Touchstone VC-JWT (Open Badges 3.0 §8.2, compact
// JWS) with panva's jose library, independently of the Go code that signed
// it.
//
// Usage: node verify-jwt.mjs <token-file> <jwks-file> [<at>]
//
// token-file holds the compact JWS (surrounding white space is ignored);
// jwks-file a JWK Set ({"keys": [...]}) in which the token's kid is looked up.
// Only EdDSA and RS256 are accepted and the header typ must be "JWT". jose
// also checks nbf and exp against a clock: <at>, an ISO 8601 date-time, when
// given (so tests do not depend on the day they run), else the current time.
//
// Prints one JSON object {verified, alg, kid, payload, errors} on stdout;
// exits 0 when the token verifies, 1 when it does not, 2 on a usage or input
// error.
import {readFile} from 'node:fs/promises';

import {createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify} from 'jose';

async function main(argv) {
  if(argv.length < 2 || argv.length > 3) {
    throw new UsageError('usage: node verify-jwt.mjs <token-file> <jwks-file> [<at>]');
  }
  const [tokenFile, jwksFile, at] = argv;
  const token = (await readFile(tokenFile, 'utf8')).trim();
  const jwks = JSON.parse(await readFile(jwksFile, 'utf8'));
  let currentDate;
  if(at !== undefined) {
    currentDate = new Date(at);
    if(Number.isNaN(currentDate.getTime())) {
      throw new UsageError(`<at> is not a date-time: ${at}`);
    }
  }
  let keys;
  try {
    keys = createLocalJWKSet(jwks);
  } catch(e) {
    throw new UsageError(`${jwksFile}: not a JWK Set: ${e.message}`);
  }

  // The header as the token states it, reported even when verification
  // fails; a token whose header cannot be decoded reports nulls.
  let header = {};
  try {
    header = decodeProtectedHeader(token);
  } catch {
    // jwtVerify reports the error below.
  }
  const out = {verified: false, alg: header.alg ?? null, kid: header.kid ?? null, payload: null, errors: []};
  try {
    const {payload, protectedHeader} = await jwtVerify(token, keys, {
      algorithms: ['EdDSA', 'RS256'],
      typ: 'JWT',
      currentDate
    });
    out.verified = true;
    out.alg = protectedHeader.alg;
    out.kid = protectedHeader.kid;
    out.payload = payload;
  } catch(e) {
    if(!(e instanceof joseErrors.JOSEError)) {
      throw e;
    }
    out.errors.push(`${e.code}: ${e.message}`);
  }
  return out;
}

class UsageError extends Error {}

try {
  const out = await main(process.argv.slice(2));
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exitCode = out.verified ? 0 : 1;
} catch(e) {
  process.stdout.write(JSON.stringify({verified: false, alg: null, kid: null, payload: null, errors: [String(e.message ?? e)]}) + '\n');
  process.exitCode = e instanceof UsageError || e instanceof SyntaxError || e.code === 'ENOENT' ? 2 : 1;
}

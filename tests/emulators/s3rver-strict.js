#!/usr/bin/env node
'use strict';
/*
 * s3rver-strict.js - s3rver (npm s3rver@3.7.1) plus REAL SigV4 header-signature verification.
 *
 * Stock s3rver only checks that the access key id exists; it never checks V4 signatures and
 * allows anonymous requests.  This wrapper verifies every request the way AWS S3 / the GCS XML
 * API do (header auth only), then hands it to s3rver.
 *
 *   Accepts:  Authorization: AWS4-HMAC-SHA256  (x-amz-date, x-amz-content-sha256, scope .../aws4_request)
 *             Authorization: GOOG4-HMAC-SHA256 (x-goog-date, x-goog-content-sha256, scope .../goog4_request)
 *   Checks:   access key, signature (canonical URI/query re-encoded per RFC 3986, sorted query),
 *             scope date == x-*-date, clock skew <= 15 min, region (if S3_REGION set),
 *             service (s3 for AWS4, storage|s3 for GOOG4), all x-amz-* and x-goog-* headers signed,
 *             x-*-content-sha256 present (UNSIGNED-PAYLOAD or 64 hex chars).
 *   Does NOT: verify a hex payload hash against the body, presigned (query) auth, aws-chunked.
 *   Adds:     AbortMultipartUpload (DELETE ?uploadId=, missing in s3rver); S3 rules that
 *             every part except the last must be >= S3_MIN_PART_SIZE (default 5 MiB) at Complete,
 *             a PUT body (object or part) must be <= S3_MAX_PUT_SIZE (default 5 GiB), and a PUT
 *             must carry Content-Length (Transfer-Encoding: chunked -> 501 NotImplemented).
 *
 * usage:  node s3rver-strict.js -d DATA_DIR [-p 4568] [-a 127.0.0.1] [-s] [--key key.pem --cert cert.pem]
 * env:    S3_ACCESS_KEY (default AKIDTEST)  S3_SECRET_KEY (default SECRETTEST)
 *         S3_REGION (optional: reject other regions)  S3_BUCKETS=a,b (create at start)
 *         S3_ALLOW_ANONYMOUS=1 (let unsigned requests through)
 *         S3_MIN_PART_SIZE (bytes, default 5242880; 0 disables the EntityTooSmall check)
 *         S3_MAX_PUT_SIZE (bytes, default 5368709120; lower it to test the multipart switch-over)
 *         S3_FAIL_PART_ONCE=1 (rdbkeep tests: the first attempt at each UploadPart number answers
 *           500 InternalError after reading the body, to exercise part retries)
 *         GCS_OAUTH_PUBLIC_KEY=pem-file (rdbkeep tests: a stand-in for Google's OAuth2 token endpoint
 *           at POST /token, the JWT-bearer grant of a service account: the RS256 JWT is verified
 *           with this public key, its claims checked, and an access token issued that the XML API
 *           then accepts as "Authorization: Bearer ...". No GCS emulator offers this offline.)
 */
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const S3rver = require('s3rver');

function arg(names, def) {
  for (const n of names) {
    const i = process.argv.indexOf(n);
    if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  }
  return def;
}
const dir = arg(['-d', '--directory']);
if (!dir) { console.error('usage: s3rver-strict.js -d DIR [-p PORT] [-a ADDR] [-s]'); process.exit(2); }
fs.mkdirSync(dir, { recursive: true });
const port = Number(arg(['-p', '--port'], '4568'));
const address = arg(['-a', '--address'], '127.0.0.1');
const silent = process.argv.includes('-s') || process.argv.includes('--silent');
const tlsKey = arg(['--key']), tlsCert = arg(['--cert']);
const KEYS = new Map([[process.env.S3_ACCESS_KEY || 'AKIDTEST', process.env.S3_SECRET_KEY || 'SECRETTEST']]);
const REGION = process.env.S3_REGION || '';
const ALLOW_ANON = process.env.S3_ALLOW_ANONYMOUS === '1';
const MIN_PART = Number(process.env.S3_MIN_PART_SIZE || 5 * 1024 * 1024);
const MAX_PUT = Number(process.env.S3_MAX_PUT_SIZE || 5 * 1024 * 1024 * 1024);
const BUCKETS = (process.env.S3_BUCKETS || '').split(',').filter(Boolean);
const FAIL_PART_ONCE = process.env.S3_FAIL_PART_ONCE === '1';
const failedParts = new Set();
const OAUTH_KEY = process.env.GCS_OAUTH_PUBLIC_KEY ? fs.readFileSync(process.env.GCS_OAUTH_PUBLIC_KEY) : null;
const issuedTokens = new Set();

function b64urlJson(part) {
  try { return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')); } catch (e) { return null; }
}

// POST /token: grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT (RFC 7523).
async function oauthToken(ctx) {
  const body = await new Promise((resolve, reject) => {
    let data = '';
    ctx.req.setEncoding('utf8');
    ctx.req.on('data', c => { data += c; if (data.length > 65536) reject(new Error('too large')); });
    ctx.req.on('end', () => resolve(data));
    ctx.req.on('error', reject);
  });
  const form = new URLSearchParams(body);
  const deny = (status, error, description) => {
    ctx.status = status;
    ctx.type = 'application/json';
    ctx.body = JSON.stringify({ error, error_description: description });
  };
  if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
    return deny(400, 'unsupported_grant_type', 'grant_type must be the JWT bearer grant');
  const parts = (form.get('assertion') || '').split('.');
  if (parts.length !== 3) return deny(400, 'invalid_grant', 'the assertion is not a JWT');
  const header = b64urlJson(parts[0]), claims = b64urlJson(parts[1]);
  if (!header || header.alg !== 'RS256') return deny(400, 'invalid_grant', 'the JWT must be RS256');
  const ok = crypto.verify('RSA-SHA256', Buffer.from(parts[0] + '.' + parts[1]), OAUTH_KEY, Buffer.from(parts[2], 'base64url'));
  if (!ok) return deny(400, 'invalid_grant', 'Invalid JWT Signature.');
  const now = Math.floor(Date.now() / 1000);
  const aud = `${tlsKey ? 'https' : 'http'}://${ctx.get('host')}/token`;
  if (!claims || claims.aud !== aud) return deny(400, 'invalid_grant', `the audience must be ${aud}`);
  if (typeof claims.iss !== 'string' || !claims.iss.includes('@')) return deny(400, 'invalid_grant', 'iss must be the service account');
  if (typeof claims.scope !== 'string' || !claims.scope.includes('devstorage')) return deny(400, 'invalid_scope', 'no storage scope');
  if (!(claims.exp > now && claims.iat <= now + 60 && claims.exp - claims.iat <= 3600)) return deny(400, 'invalid_grant', 'bad iat/exp');
  const token = 'ya29.test-' + crypto.randomBytes(16).toString('hex');
  issuedTokens.add(token);
  ctx.status = 200;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' });
}

const enc = s => encodeURIComponent(s).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const dec = s => { try { return decodeURIComponent(s); } catch (e) { return null; } };
const sha256hex = d => crypto.createHash('sha256').update(d, 'utf8').digest('hex');
const hmac = (k, d) => crypto.createHmac('sha256', k).update(d, 'utf8').digest();
function xmlError(ctx, status, code, message, extra = {}) {
  if (!silent) console.error(`[s3rver-strict] ${ctx.method} ${ctx.req.url} -> ${status} ${code}: ${message}`);
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + code + '</Code><Message>' + xesc(message) + '</Message>' +
    Object.entries(extra).map(([n, v]) => `<${n}>${xesc(v)}</${n}>`).join('') + '</Error>';
}
const xesc = s => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function verify(ctx) {
  const req = ctx.req;
  const qi = req.url.indexOf('?');
  const rawPath = qi < 0 ? req.url : req.url.slice(0, qi);
  const rawQuery = qi < 0 ? '' : req.url.slice(qi + 1);
  const hdrs = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const n = req.rawHeaders[i].toLowerCase();
    (hdrs[n] = hdrs[n] || []).push(req.rawHeaders[i + 1]);
  }
  const auth = hdrs.authorization ? hdrs.authorization[0] : '';
  if (OAUTH_KEY && auth.startsWith('Bearer ')) {
    return issuedTokens.has(auth.slice(7).trim()) ? null
      : [401, 'AuthenticationRequired', 'Invalid Credentials (the bearer token was not issued here)'];
  }
  if (!auth) {
    if (/[?&](X-(Amz|Goog)-Signature|Signature|AWSAccessKeyId)=/i.test(req.url))
      return [403, 'AccessDenied', 'presigned/query authentication is not supported by this test server'];
    return ALLOW_ANON ? null : [403, 'AccessDenied', 'Anonymous access denied (no Authorization header)'];
  }
  const m = /^(AWS4|GOOG4)-HMAC-SHA256\s+Credential=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/.exec(auth);
  if (!m) return [400, 'AuthorizationHeaderMalformed', 'only AWS4-HMAC-SHA256 / GOOG4-HMAC-SHA256 header auth is accepted: ' + auth];
  const [, alg, credential, signedStr, signature] = m;
  const lp = alg === 'AWS4' ? 'amz' : 'goog';
  const scope = credential.split('/');
  if (scope.length !== 5) return [400, 'AuthorizationHeaderMalformed', 'Credential must be KEY/yyyymmdd/region/service/' + alg.toLowerCase() + '_request'];
  const [akid, sdate, region, service, term] = scope;
  if (term !== alg.toLowerCase() + '_request') return [400, 'AuthorizationHeaderMalformed', `scope terminator must be ${alg.toLowerCase()}_request`];
  const okService = alg === 'AWS4' ? ['s3'] : ['storage', 's3'];
  if (!okService.includes(service)) return [400, 'AuthorizationHeaderMalformed', `service '${service}' in credential scope, expected ${okService.join(' or ')}`];
  if (REGION && region !== REGION) return [400, 'AuthorizationHeaderMalformed', `the region '${region}' is wrong; expecting '${REGION}'`];
  const secret = KEYS.get(akid);
  if (secret === undefined) return [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: akid }];
  const date = (hdrs[`x-${lp}-date`] || [''])[0].trim();
  if (!/^\d{8}T\d{6}Z$/.test(date)) return [403, 'AccessDenied', `missing or invalid x-${lp}-date header`];
  if (date.slice(0, 8) !== sdate) return [403, 'SignatureDoesNotMatch', `credential scope date ${sdate} != x-${lp}-date ${date}`];
  const t = Date.UTC(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8), +date.slice(9, 11), +date.slice(11, 13), +date.slice(13, 15));
  if (Math.abs(Date.now() - t) > 15 * 60 * 1000) return [403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.'];
  const signed = signedStr.split(';');
  if (!signed.includes('host')) return [403, 'AccessDenied', 'host header must be signed'];
  if (signed.join(';') !== [...signed].sort().join(';')) return [403, 'SignatureDoesNotMatch', 'SignedHeaders must be sorted'];
  for (const n of Object.keys(hdrs))
    if (n.startsWith(`x-${lp}-`) && !signed.includes(n)) return [403, 'AccessDenied', `There were headers present in the request which were not signed: ${n}`];
  for (const n of signed) if (!hdrs[n]) return [403, 'SignatureDoesNotMatch', `signed header '${n}' is not present in the request`];
  const canonHeaders = signed.map(n => `${n}:${hdrs[n].map(v => v.trim().replace(/\s+/g, ' ')).join(',')}\n`).join('');
  const ph = hdrs[`x-${lp}-content-sha256`];
  if (!ph) return [400, 'InvalidRequest', `Missing required header for this request: x-${lp}-content-sha256`];
  const payloadHash = ph[0].trim();
  if (!/^(UNSIGNED-PAYLOAD|[0-9a-f]{64})$/.test(payloadHash)) return [400, 'InvalidArgument', `x-${lp}-content-sha256 must be UNSIGNED-PAYLOAD or a hex SHA-256`];
  const segs = rawPath.split('/').map(dec);
  if (segs.includes(null)) return [400, 'InvalidURI', 'bad percent-encoding in path'];
  const canonUri = segs.map(enc).join('/') || '/';
  const params = [];
  for (const p of rawQuery.split('&')) {
    if (!p) continue;
    const i = p.indexOf('=');
    const k = dec(i < 0 ? p : p.slice(0, i)), v = dec(i < 0 ? '' : p.slice(i + 1));
    if (k === null || v === null) return [400, 'InvalidURI', 'bad percent-encoding in query'];
    params.push([enc(k), enc(v)]);
  }
  params.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const canonQuery = params.map(([k, v]) => `${k}=${v}`).join('&');
  const creq = [req.method, canonUri, canonQuery, canonHeaders, signedStr, payloadHash].join('\n');
  const sts = [`${alg}-HMAC-SHA256`, date, `${sdate}/${region}/${service}/${term}`, sha256hex(creq)].join('\n');
  let k = hmac(alg + secret, sdate);
  k = hmac(k, region); k = hmac(k, service); k = hmac(k, term);
  const expected = hmac(k, sts).toString('hex');
  if (!crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature)))
    return [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      { AWSAccessKeyId: akid, StringToSign: sts, CanonicalRequest: creq }];
  return null;
}

const app = new S3rver({
  directory: dir, port, address, silent, vhostBuckets: false,
  ...(tlsKey && tlsCert ? { key: fs.readFileSync(tlsKey), cert: fs.readFileSync(tlsCert) } : {}),
  configureBuckets: BUCKETS.map(name => ({ name, configs: [] })),
});
// insert right after s3rver's logger middleware (index 0) so rejections are logged too
app.middleware.splice(1, 0, async function sigv4Strict(ctx, next) {
  if (OAUTH_KEY && ctx.method === 'POST' && ctx.path === '/token') return oauthToken(ctx);
  const err = verify(ctx);
  if (err) return xmlError(ctx, ...err);
  // Verified: hide the Authorization header from s3rver (it cannot parse GOOG4 and checks nothing useful).
  delete ctx.req.headers.authorization;
  if (ctx.method === 'PUT') {
    const te = ctx.get('transfer-encoding');
    if (te) return xmlError(ctx, 501, 'NotImplemented', 'A header you provided implies functionality that is not implemented', { Header: 'Transfer-Encoding' });
    const len = Number(ctx.get('content-length') || 0);
    if (len > MAX_PUT) return xmlError(ctx, 400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { ProposedSize: len, MaxSizeAllowed: MAX_PUT });
    const part = ctx.query.partNumber;
    if (FAIL_PART_ONCE && typeof part === 'string' && !failedParts.has(ctx.path + '#' + part)) {
      failedParts.add(ctx.path + '#' + part);
      await new Promise(resolve => { ctx.req.on('end', resolve); ctx.req.on('error', resolve); ctx.req.resume(); });
      return xmlError(ctx, 500, 'InternalError', 'We encountered an internal error. Please try again. (injected by S3_FAIL_PART_ONCE)');
    }
  }
  const uploadId = ctx.query.uploadId;
  if (typeof uploadId === 'string' && (ctx.method === 'DELETE' || ctx.method === 'POST')) {
    const bucket = decodeURIComponent(ctx.path.split('/')[1] || '');
    const dir = /^[0-9a-f]{1,64}$/.test(uploadId) && bucket ? path.join(app.store.getResourcePath(bucket, undefined, 'uploads'), uploadId) : '';
    if (!dir || !fs.existsSync(dir)) return xmlError(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
    if (ctx.method === 'DELETE') { // AbortMultipartUpload
      fs.rmSync(dir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    if (MIN_PART > 0) { // CompleteMultipartUpload: EntityTooSmall like S3
      const parts = fs.readdirSync(dir).filter(f => /^\d+$/.test(f)).map(Number).sort((a, b) => a - b);
      for (const n of parts.slice(0, -1)) {
        const size = fs.statSync(path.join(dir, String(n))).size;
        if (size < MIN_PART) return xmlError(ctx, 400, 'EntityTooSmall', `Your proposed upload is smaller than the minimum allowed object size (part ${n}: ${size} < ${MIN_PART} bytes).`);
      }
    }
  }
  return next();
});
app.run().then(({ address: a, port: p }) => console.log(`s3rver-strict listening on ${a}:${p}`),
  e => { console.error(e); process.exit(1); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => app.close().finally(() => process.exit(0)));

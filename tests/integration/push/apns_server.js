// A stand-in for APNs in push tests: HTTP/2 over TLS (ALPN h2) with the test's self-signed
// certificate. Every request is appended to the record file as one JSON line, with the JWT checked
// against the public half of the test's .p8 key (ES256, raw r||s = dsaEncoding 'ieee-p1363').
// The answer depends on the device token's first characters, so one server covers every case:
//   410...  -> 410 {"reason":"Unregistered"}      400b... -> 400 {"reason":"BadDeviceToken"}
//   503...  -> 503 {"reason":"ServiceUnavailable"} anything else -> 200
// usage: node apns_server.js <port> <cert.pem> <key.pem> <apns-key.p8> <record.jsonl>
'use strict';
const http2 = require('http2');
const fs = require('fs');
const crypto = require('crypto');

const [port, certFile, keyFile, p8File, recordFile] = process.argv.slice(2);
const publicKey = crypto.createPublicKey(crypto.createPrivateKey(fs.readFileSync(p8File)));
let sessions = 0;

function b64url(s) { return Buffer.from(s, 'base64url'); }

function checkJwt(auth) {
  const m = /^bearer (.+)$/.exec(auth || '');
  if (!m) return { ok: false };
  const parts = m[1].split('.');
  if (parts.length !== 3) return { ok: false };
  const ok = crypto.verify('sha256', Buffer.from(parts[0] + '.' + parts[1]),
    { key: publicKey, dsaEncoding: 'ieee-p1363' }, b64url(parts[2]));
  let header = null, claims = null;
  try { header = JSON.parse(b64url(parts[0]).toString()); claims = JSON.parse(b64url(parts[1]).toString()); } catch (e) {}
  return { ok, header, claims, sigLen: b64url(parts[2]).length };
}

const server = http2.createSecureServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), allowHTTP1: false });
server.on('session', (s) => { s.ttId = ++sessions; });
server.on('stream', (stream, headers) => {
  let body = '';
  stream.setEncoding('utf8');
  stream.on('data', (c) => { body += c; });
  stream.on('end', () => {
    const path = headers[':path'] || '';
    const token = path.replace(/^\/3\/device\//, '');
    let status = 200, reason = null;
    if (token.startsWith('410')) { status = 410; reason = 'Unregistered'; }
    else if (token.startsWith('400b')) { status = 400; reason = 'BadDeviceToken'; }
    else if (token.startsWith('503')) { status = 503; reason = 'ServiceUnavailable'; }
    let parsed = null;
    try { parsed = JSON.parse(body); } catch (e) {}
    const rec = {
      session: stream.session.ttId, method: headers[':method'], path, token,
      topic: headers['apns-topic'], pushType: headers['apns-push-type'], priority: headers['apns-priority'],
      expiration: headers['apns-expiration'], jwt: checkJwt(headers['authorization']), body: parsed, status,
    };
    fs.appendFileSync(recordFile, JSON.stringify(rec) + '\n');
    const out = { ':status': status };
    if (status === 200) { out['apns-id'] = crypto.randomUUID(); stream.respond(out); stream.end(); }
    else { out['content-type'] = 'application/json'; stream.respond(out); stream.end(JSON.stringify({ reason })); }
  });
});
server.listen(Number(port), '127.0.0.1');

// A plain HTTP/1.1 receiver for push_server's webhook provider in tests. Every request is appended
// to the record file as one JSON line ({method, url, contentType, body}); the answer depends on
// the token: "gone..." -> 410, "fail..." -> 503, anything else -> 200.
// usage: node webhook_server.js <port> <record.jsonl>
'use strict';
const http = require('http');
const fs = require('fs');

const [port, recordFile] = process.argv.slice(2);
http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    let parsed = null;
    try { parsed = JSON.parse(body); } catch (e) {}
    const token = (parsed && parsed.token) || '';
    const status = token.startsWith('gone') ? 410 : token.startsWith('fail') ? 503 : 200;
    fs.appendFileSync(recordFile, JSON.stringify({ method: req.method, url: req.url,
      contentType: req.headers['content-type'], body: parsed, status }) + '\n');
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? 'ok' : 'no');
  });
}).listen(Number(port), '127.0.0.1');

// The floor under "start to /health": a node:http server answering GET /health, nothing else.
// Plain JavaScript (no type stripping). Prints its URL on stdout once listening, as `herald serve`
// does. Usage: node bench/bare-server.mjs
//
// node:http as `require` gives it (what a CommonJS server, and Herald's bundle, get), not as
// `import http from 'node:http'`: the ES module namespace of node:http reads every export, and
// its lazy WebSocket getters load undici, http2, tls and worker_threads (~45 ms more before it
// listens). With that import this floor started at ~135 ms instead of ~90 ms, and every
// "÷ bare" figure before 2026-12-04 was divided by it.
const http = process.getBuiltinModule('node:http');

const server = http.createServer((req, res) => {
  if (req.url === '/health') res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
  else res.writeHead(404).end();
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

// The floor under "start to /health": a node:http server answering GET /health, nothing else.
// Plain JavaScript (no type stripping). Prints its URL on stdout once listening, as `herald serve`
// does. Usage: node bench/bare-server.mjs
import http from 'node:http';

const server = http.createServer((req, res) => {
  if (req.url === '/health') res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
  else res.writeHead(404).end();
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

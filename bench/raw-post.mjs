// Node's floor for publishing one event: a process that connects with node:net, writes one
// hand-made HTTP/1.1 POST and reads the answer to its end. No HTTP client, no options, no checks
// beyond the status. Plain JavaScript (no type stripping), as lean as a Node publisher can be.
// Usage: node bench/raw-post.mjs http://127.0.0.1:PORT [message]
import net from 'node:net';

const url = new URL(process.argv[2] ?? '');
const body = JSON.stringify({ title: 'raw', body: process.argv[3] ?? 'raw post' });
const socket = net.connect(Number(url.port), url.hostname, () => {
  socket.end(
    `POST /events HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
});
let answer = '';
socket.setEncoding('latin1');
socket.on('data', (chunk) => (answer += chunk));
socket.on('end', () => {
  if (!answer.startsWith('HTTP/1.1 201')) {
    process.stderr.write(`raw-post: ${answer.split('\r\n')[0] || 'no answer'}\n`);
    process.exitCode = 1;
  }
});

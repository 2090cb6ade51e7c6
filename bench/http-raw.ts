// A minimal keep-alive HTTP/1.1 client on a raw socket, for the load generator's publishers: one
// request in flight per connection, the response read by Content-Length (or to the end of a
// chunked body). Much lighter than node:http, so the generator leaves the CPU to the server.
import net from 'node:net';

export interface RawResponse {
  status: number;
  body: string;
  /** Milliseconds from writing the request to reading the whole response. */
  ms: number;
}

export interface RawTarget {
  host: string;
  port: number;
  /** Source address on the loopback network (127.x.y.z), default the kernel's choice. */
  localAddress?: string;
}

export class RawHttpConnection {
  readonly target: RawTarget;
  #socket: net.Socket | null = null;
  #buffer = '';
  #pending: { resolve(r: RawResponse): void; reject(e: Error): void; startedAt: number; timer: NodeJS.Timeout } | null = null;
  busy = false;

  constructor(target: RawTarget) {
    this.target = target;
  }

  #connect(): net.Socket {
    const socket = net.connect({ host: this.target.host, port: this.target.port, localAddress: this.target.localAddress, noDelay: true });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    const fail = (error: Error) => {
      if (this.#socket === socket) this.#socket = null;
      this.#buffer = '';
      const pending = this.#pending;
      this.#pending = null;
      if (pending) {
        clearTimeout(pending.timer);
        pending.reject(error);
      }
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed before the response')));
    this.#socket = socket;
    return socket;
  }

  request(method: string, path: string, body: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<RawResponse> {
    if (this.busy) return Promise.reject(new Error('one request at a time per connection'));
    this.busy = true;
    const socket = this.#socket ?? this.#connect();
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${this.target.host}:${this.target.port}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    return new Promise<RawResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending = null;
        socket.destroy();
        reject(new Error(`no response to ${method} ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending = { resolve, reject, startedAt: performance.now(), timer };
      socket.write(`${head}\r\n${body}`);
    }).finally(() => {
      this.busy = false;
    });
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    const pending = this.#pending;
    if (!pending) return;
    const headEnd = this.#buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.#buffer.slice(0, headEnd);
    const status = Number(head.slice(9, 12));
    const lengthMatch = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let body: string;
    let consumed: number;
    if (lengthMatch) {
      const length = Number(lengthMatch[1]);
      if (this.#buffer.length < headEnd + 4 + length) return;
      body = this.#buffer.slice(headEnd + 4, headEnd + 4 + length);
      consumed = headEnd + 4 + length;
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const end = this.#buffer.indexOf('\r\n0\r\n\r\n', headEnd);
      const empty = this.#buffer.startsWith('0\r\n\r\n', headEnd + 4);
      if (end < 0 && !empty) return;
      body = empty ? '' : this.#buffer.slice(headEnd + 4, end).replace(/(^|\r\n)[0-9a-fA-F]+\r\n/g, '');
      consumed = empty ? headEnd + 9 : end + 7;
    } else {
      body = '';
      consumed = headEnd + 4;
    }
    this.#buffer = this.#buffer.slice(consumed);
    this.#pending = null;
    clearTimeout(pending.timer);
    if (/\r\nconnection:\s*close/i.test(head)) {
      this.#socket?.destroy();
      this.#socket = null;
    }
    pending.resolve({ status, body, ms: performance.now() - pending.startedAt });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = null;
  }
}

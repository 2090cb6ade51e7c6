// Starts Herald's companion server: the one entry point for `herald serve`, the tests, the
// benchmarks and the desktop app's utility process. Plain Node APIs only (no Electron).

export interface ServerOptions {
  /** Default 5080; 0 = an ephemeral port. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Where the SQLite log lives. Default: the user's data dir (see data-dir.ts). */
  dataDir?: string;
  /** Bearer token; every route but /health needs it; EventSource may pass ?token=. */
  token?: string;
  /** CORS origins allowed besides the server's own origin. */
  allowedOrigins?: string[];
  /** Comment heartbeat interval, default 15000. */
  heartbeatMs?: number;
  /** The `retry:` sent first, default 3000. */
  retryMs?: number;
  retention?: { maxEvents?: number; maxAgeMs?: number };
  maxStreams?: number;
  /** Per-subscriber unsent bytes before it is cut off. */
  maxBacklogBytes?: number;
  /** Per-client token bucket. */
  publishRate?: { capacity: number; refillPerSecond: number };
  /** Directory of the built window UI served at '/', default <repo>/dist/renderer; null = none. */
  webRoot?: string | null;
  /** Default: stderr with a timestamp. */
  log?: (line: string) => void;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** Ends streams (clients reconnect), closes connections, closes the log. */
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  void options;
  throw new Error('startServer: work in progress (server helper)');
}

// What the server, the CLI, the feed client and the app agree on about the network: which hosts
// are this machine, and how a failed connection is said to a person. No Node imports: the app's
// main process and the CLI share it as it is.

/** [PRODUCT] The server's address unless told otherwise: `http://127.0.0.1:5080`, loopback only. */
export const DEFAULT_PORT = 5080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_SERVER_URL = `http://${DEFAULT_HOST}:${DEFAULT_PORT}`;

/**
 * A host only this machine can reach: localhost, 127.0.0.0/8 (also IPv4-mapped, ::ffff:127.x.y.z)
 * and ::1, as a bare name or address, or bracketed IPv6 as URLs and Host headers write it.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  // The URL parser writes a mapped address in hex: [::ffff:127.0.0.1] becomes [::ffff:7f00:1].
  if (/^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(h)) return true;
  const v4 = /^(?:::ffff:)?127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return v4 !== null && v4.slice(1).every((octet) => Number(octet) <= 255);
}

/** Does the URL point at this machine? The URL parser lower-cases names and writes IPv4 as
 * dotted decimal (127.1 → 127.0.0.1), so every spelling of a loopback address counts. */
export function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** Socket and TLS error codes in a person's words. */
const NETWORK_ERROR_WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENETDOWN: 'network down',
  EADDRNOTAVAIL: 'address not available',
};

/** The error code of a socket error, or of the cause of a fetch() failure. */
export function networkErrorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null | undefined;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return '';
}

/** Is the code a certificate the client does not trust (self-signed, unknown CA, expired, wrong name)? */
export function isCertificateError(code: string): boolean {
  return /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS/.test(code);
}

/**
 * How a failed connection is said to a person: the code's words, a certificate problem as such
 * (with the code, so it can be looked up), else undefined (the caller falls back to the message).
 */
export function describeNetworkCode(code: string): string | undefined {
  const words = NETWORK_ERROR_WORDS[code];
  if (words !== undefined) return words;
  if (code === 'CERT_HAS_EXPIRED') return 'certificate expired';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'certificate does not match the host name';
  if (isCertificateError(code)) return `certificate not trusted (${code})`;
  return undefined;
}

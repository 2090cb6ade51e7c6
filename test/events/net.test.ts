// Which addresses count as this machine (the server's Host check, `herald serve`'s no-token
// warning, the app's local-server token and reconnect-when-up): all of 127.0.0.0/8, localhost and
// ::1, however written; and how network error codes are said to a person.

import { describe, expect, it } from 'vitest';
import { describeNetworkCode, isLoopbackHost, isLoopbackUrl as isLoopback, networkErrorCode } from '../../events/net.ts';

describe('isLoopbackHost', () => {
  it('takes names, addresses and bracketed IPv6 as Host headers and --host write them', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LocalHost', '::1', '[::1]', '::ffff:127.0.0.1', '[::ffff:7f00:1]'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com', '128.0.0.1', '127.0.0.256', '127.0.0', '::ffff:10.0.0.1', ''])
      expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('describeNetworkCode', () => {
  it('says socket and certificate failures in words, and leaves unknown codes to the message', () => {
    expect(describeNetworkCode('ECONNREFUSED')).toBe('connection refused');
    expect(describeNetworkCode('EAI_AGAIN')).toBe('host name lookup failed');
    expect(describeNetworkCode('CERT_HAS_EXPIRED')).toBe('certificate expired');
    expect(describeNetworkCode('SELF_SIGNED_CERT_IN_CHAIN')).toBe('certificate not trusted (SELF_SIGNED_CERT_IN_CHAIN)');
    expect(describeNetworkCode('EWHATEVER')).toBeUndefined();
    // A socket error carries the code; fetch() carries it on its cause.
    expect(networkErrorCode(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(networkErrorCode(new TypeError('fetch failed', { cause: Object.assign(new Error('y'), { code: 'ENOTFOUND' }) }))).toBe(
      'ENOTFOUND',
    );
    expect(networkErrorCode('nothing')).toBe('');
  });
});

describe('isLoopbackUrl', () => {
  it('accepts the whole 127.0.0.0/8, localhost and ::1 in any spelling the URL parser normalises', () => {
    for (const url of [
      'http://127.0.0.1:5080',
      'http://127.0.0.2:5080',
      'http://127.255.255.254/',
      'https://127.1.2.3:8443/path',
      'http://127.1:5080', // short form, normalised to 127.0.0.1
      'http://localhost:5080',
      'http://LOCALHOST:5080',
      'http://[::1]:5080',
      'http://[0:0:0:0:0:0:0:1]:5080',
      'http://[::ffff:127.0.0.1]:5080', // written [::ffff:7f00:1] by the URL parser
    ])
      expect(isLoopback(url), url).toBe(true);
  });

  it('refuses other addresses and what is not a URL', () => {
    for (const url of [
      'http://128.0.0.1:5080',
      'http://10.127.0.1:5080',
      'http://0.0.0.0:5080',
      'http://[::]:5080',
      'http://192.168.1.10:5080',
      'http://127.0.0.1.example.test:5080',
      'http://localhost.example.test:5080',
      'https://herald.example.test',
      'not a url',
      '',
    ])
      expect(isLoopback(url), url).toBe(false);
  });
});

// Which server addresses the core treats as this machine (the local server's token and its
// reconnect-when-up apply only to those): all of 127.0.0.0/8, localhost and ::1.

import { describe, expect, it } from 'vitest';
import { isLoopback } from '../../main/wiring.ts';

describe('isLoopback', () => {
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
    ]) expect(isLoopback(url), url).toBe(true);
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
    ]) expect(isLoopback(url), url).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { describeError, ERROR_STATUS, isErrorBody } from '../../events/errors.ts';

describe('describeError', () => {
  it('says a thrown value that is not an Error as a string', () => {
    expect(describeError('plain words')).toBe('plain words');
    expect(describeError(undefined)).toBe('undefined');
  });

  it('follows cause, saying each message the outer one does not already say', () => {
    const socket = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5080'), { code: 'ECONNREFUSED' });
    expect(describeError(new TypeError('fetch failed', { cause: socket }))).toBe('fetch failed: connect ECONNREFUSED 127.0.0.1:5080');
    const inner = new Error('disk full');
    expect(describeError(new Error('could not write config.json (disk full)', { cause: inner }))).toBe(
      'could not write config.json (disk full)',
    );
  });

  it('stops on a cycle of causes', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(describeError(a)).toBe('a: b');
  });

  it("gives the stack of the first error when asked, for a developer's log", () => {
    const err = new Error('boom', { cause: 'why' });
    expect(describeError(err, { stack: true })).toMatch(/^Error: boom\n\s+at .*: why$/s);
  });
});

describe('the error table', () => {
  it('gives every code one HTTP status, 4xx or 5xx', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) expect(status >= 400 && status < 600, code).toBe(true);
  });

  it('takes an ErrorBody only with a known code and a message', () => {
    expect(isErrorBody({ error: { code: 'bad_request', message: 'title: is required', field: 'title' } })).toBe(true);
    expect(isErrorBody({ error: { code: 'teapot', message: 'short and stout' } })).toBe(false);
    expect(isErrorBody({ error: 'bad_request' })).toBe(false);
    expect(isErrorBody('<html>502 Bad Gateway</html>')).toBe(false);
  });
});

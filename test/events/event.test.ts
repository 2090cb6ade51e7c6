import { describe, expect, it } from 'vitest';
import { compareEventIds, EventValidationError, humanDuration, jobTitle, LIMITS, parseEventInput } from '../../events/event.ts';

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof EventValidationError) return err.field;
    throw err;
  }
  throw new Error('expected a validation error');
}

describe('parseEventInput', () => {
  it('fills defaults', () => {
    expect(parseEventInput({ title: 'hi' })).toEqual({ type: 'notification', topic: 'default', title: 'hi', priority: 3 });
  });

  it('takes the title from the body, and message as an alias of body', () => {
    expect(parseEventInput({ message: '\n build done \nmore' })).toMatchObject({ title: 'build done', body: '\n build done \nmore' });
  });

  it('derives a title for job events', () => {
    const e = parseEventInput({ type: 'job.failed', job: { id: 'j1', name: 'make', status: 'failed', exitCode: 2, durationMs: 65_000 } });
    expect(e.title).toBe('✗ make failed (exit 2) in 1 min 5 s');
  });

  it('stores CRLF and CR line breaks in multi-line fields as LF, and still refuses other control characters', () => {
    const e = parseEventInput({
      body: 'first\r\nsecond\rthird\n',
      type: 'job.failed',
      job: { id: 'j', status: 'failed', outputTail: 'a\r\nb\r' },
    });
    expect(e.body).toBe('first\nsecond\nthird\n');
    expect(e.job!.outputTail).toBe('a\nb\n');
    expect(parseEventInput({ message: 'line one\r\nline two' })).toMatchObject({ title: 'line one', body: 'line one\nline two' });
    // the limit applies to what is stored: 4096 LF line breaks sent as CRLF fit
    expect(parseEventInput({ title: 't', body: '\r\n'.repeat(4096) }).body).toBe('\n'.repeat(4096));
    for (const bad of ['bell\u0007\r\n', 'a\r\n\u001b[31m', 'nul\u0000'])
      expect(fieldOf(() => parseEventInput({ title: 't', body: bad }))).toBe('body');
    expect(fieldOf(() => parseEventInput({ title: 'two\r\nlines' }))).toBe('title');
    expect(fieldOf(() => parseEventInput({ title: 't', tags: ['a\r'] }))).toBe('tags[0]');
  });

  it.each([
    [{ title: 'x', type: 'Bad Type' }, 'type'],
    [{ title: 'x', type: 'herald.gap' }, 'type'],
    [{ title: 'x', type: 'error' }, 'type'],
    [{ title: 'x', type: 'open' }, 'type'],
    [{ title: 'x', topic: 'no spaces' }, 'topic'],
    [{ title: 'x'.repeat(257) }, 'title'],
    [{ title: 'a\nb' }, 'title'],
    [{ title: 'x', body: 'y'.repeat(4097) }, 'body'],
    [{ title: 'x', priority: 6 }, 'priority'],
    [{ title: 'x', priority: '3' }, 'priority'],
    [{ title: 'x', tags: 'a,b' }, 'tags'],
    [{ title: 'x', tags: ['ok', 3] }, 'tags[1]'],
    [{ title: 'x', url: 'javascript:alert(1)' }, 'url'],
    [{ title: 'x', url: 'file:///etc/passwd' }, 'url'],
    [{ title: 'x', id: '5' }, 'id'],
    [{ title: 'x', bogus: 1 }, 'bogus'],
    [{ type: 'job.completed', title: 'x' }, 'job'],
    [{ type: 'job.completed', job: { id: 'j', status: 'done' } }, 'job.status'],
    [{ type: 'job.completed', job: { status: 'succeeded' } }, 'job.id'],
    [{ type: 'job.completed', job: { id: 'j', status: 'succeeded', exitCode: 1.5 } }, 'job.exitCode'],
    [{}, 'title'],
    [[1], 'body'],
    // C1 controls like C0 ones: U+009B is a terminal's CSI ("ESC [") in one character.
    [{ title: '\u009b31mred' }, 'title'],
    [{ title: 'x', body: 'osc \u009d0;title\u0007' }, 'body'],
    [{ title: 'x', body: 'next line \u0085' }, 'body'],
    [{ title: 'x', tags: ['\u0080'] }, 'tags[0]'],
    [{ type: 'job.failed', job: { id: 'j', status: 'failed', name: 'a\u009fb' } }, 'job.name'],
    [{ type: 'job.failed', job: { id: 'j', status: 'failed', outputTail: 'x\u009by' } }, 'job.outputTail'],
    [{ type: 'job.failed', job: { id: 'j', status: 'failed', durationMs: 1e308 } }, 'job.durationMs'],
    [{ type: 'job.failed', job: { id: 'j', status: 'failed', durationMs: LIMITS.jobDurationMs + 1 } }, 'job.durationMs'],
  ])('rejects %j naming %s', (input, field) => {
    expect(fieldOf(() => parseEventInput(input))).toBe(field);
  });
});

describe('parseEventInput at the edges', () => {
  it('takes a duration of up to a year, and text just outside the C1 range', () => {
    const year = parseEventInput({
      type: 'job.completed',
      job: { id: 'j', name: 'long', status: 'succeeded', durationMs: LIMITS.jobDurationMs },
    });
    expect(year.title).toBe('✓ long succeeded in 8760 h');
    expect(parseEventInput({ title: '\u007e\u00a0\u00ff ok', body: 'tab\tand\nline' })).toMatchObject({ title: '~\u00a0ÿ ok' });
  });
});

describe('helpers', () => {
  it('compares ids as numbers', () => {
    expect(compareEventIds('9', '10')).toBeLessThan(0);
    expect(compareEventIds('10', '10')).toBe(0);
    expect(compareEventIds('11', '10')).toBeGreaterThan(0);
  });

  it('writes durations for people', () => {
    expect(humanDuration(250)).toBe('250 ms');
    expect(humanDuration(1500)).toBe('1.5 s');
    expect(humanDuration(42_000)).toBe('42 s');
    expect(humanDuration(3_600_000 + 240_000)).toBe('1 h 4 min');
    expect(jobTitle('job.started', { id: 'j', name: 'train', status: 'running' })).toBe('▶ train started');
  });
});

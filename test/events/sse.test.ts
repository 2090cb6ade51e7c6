import { describe, expect, it } from 'vitest';
import { frameComment, frameEvent, frameRetry, SseFieldError } from '../../events/sse.ts';

/** A minimal parser per the WHATWG algorithm, enough to prove values round-trip. */
function parse(stream: string): Array<{ id?: string; event?: string; data: string }> {
  const out: Array<{ id?: string; event?: string; data: string }> = [];
  let data: string[] = [];
  let id: string | undefined;
  let event: string | undefined;
  for (const line of stream.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (data.length) out.push({ id, event, data: data.join('\n') });
      data = [];
      event = undefined;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
    else if (field === 'event') event = value;
  }
  return out;
}

describe('frameEvent', () => {
  it('frames id, event and data with a single space and a blank line', () => {
    expect(frameEvent({ id: '7', event: 'job.completed', data: '{"a":1}' })).toBe('id: 7\nevent: job.completed\ndata: {"a":1}\n\n');
  });

  it.each([
    ['LF', 'one\ntwo'],
    ['CR', 'one\rtwo'],
    ['CRLF', 'one\r\ntwo'],
    ['blank lines', 'one\n\n\ntwo\n'],
    ['leading space', '  indented'],
    ['non-ASCII', 'Сборка готова ✓ 🎉'],
    ['forged fields', 'x\nid: 999\nevent: evil\nretry: 1'],
  ])('round-trips data with %s', (_name, data) => {
    const framed = frameEvent({ id: '1', event: 'notification', data });
    const [parsed, ...rest] = parse(framed);
    expect(rest).toEqual([]);
    expect(parsed).toEqual({ id: '1', event: 'notification', data: data.replace(/\r\n|\r/g, '\n') });
  });

  it('refuses line breaks and NUL in single-line fields', () => {
    expect(() => frameEvent({ id: '1\n2', data: '' })).toThrow(SseFieldError);
    expect(() => frameEvent({ id: '1\r', data: '' })).toThrow(SseFieldError);
    expect(() => frameEvent({ id: '1\u00002', data: '' })).toThrow(SseFieldError);
    expect(() => frameEvent({ event: 'a\nb', data: '' })).toThrow(SseFieldError);
  });

  it('frames comments and retry', () => {
    expect(frameComment()).toBe(':\n\n');
    expect(frameComment('hb\nx')).toBe(': hb\n: x\n\n');
    expect(frameRetry(3000)).toBe('retry: 3000\n\n');
    expect(() => frameRetry(-1)).toThrow(SseFieldError);
  });
});

// The CLI's pure parts, checked directly: the output tail, server URL resolution, argument splitting.
import { describe, expect, it } from 'vitest';
import { parseEventInput } from '../../events/event.ts';
import { nearest, resolveServer, UsageError } from '../../cli/options.ts';
import { cleanOutput, OutputTail } from '../../cli/output-tail.ts';
import { displayCommand, splitCommand } from '../../cli/run.ts';
import { parsePriority } from '../../cli/options.ts';
import { DEFAULT_SERVER_URL } from '../../events/net.ts';

describe('OutputTail', () => {
  it('keeps the last lines, dropping the cut-off first one', () => {
    const tail = new OutputTail({ maxBytes: 32, maxLines: 3 });
    for (let i = 1; i <= 100; i++) tail.push(Buffer.from(`line ${i}\n`));
    expect(tail.text()).toBe('line 98\nline 99\nline 100');
  });

  it('bounds memory to about maxBytes whatever the chunk sizes', () => {
    const tail = new OutputTail({ maxBytes: 64 });
    tail.push(Buffer.alloc(10_000, 'a'));
    tail.push(Buffer.from('\nend'));
    expect(tail.text()).toBe('end');
    const small = new OutputTail({ maxBytes: 64 });
    small.push(Buffer.from('short'));
    expect(small.text()).toBe('short');
  });

  it('does not show half a UTF-8 character where the cut lands', () => {
    const tail = new OutputTail({ maxBytes: 8 });
    tail.push(Buffer.from('日本語日本語')); // 18 bytes: the cut falls inside a character
    expect(tail.text()).not.toContain('\ufffd');
    expect(tail.text()).toMatch(/^[日本語]+$/);
  });

  it("keeps each stream's lines whole, in the order they end", () => {
    const tail = new OutputTail();
    tail.push(Buffer.from('compiling '), 'stdout');
    tail.push(Buffer.from('warning: slow\nwarn'), 'stderr');
    tail.push(Buffer.from('done\nsummary'), 'stdout');
    expect(tail.text()).toBe('warning: slow\ncompiling done\nwarn\nsummary');
    tail.push(Buffer.from('ing: twice\n'), 'stderr');
    expect(tail.text()).toBe('warning: slow\ncompiling done\nwarning: twice\nsummary');
  });

  it('bounds an endless line per stream', () => {
    const tail = new OutputTail({ maxBytes: 64 });
    tail.push(Buffer.from('first\n'), 'stderr');
    for (let i = 0; i < 1000; i++) tail.push(Buffer.alloc(100, 'x'), 'stdout');
    expect(tail.text()).toBe(`first\n${'x'.repeat(64)}`);
    tail.push(Buffer.from('\nlast\n'), 'stdout');
    expect(tail.text()).toBe('last');
  });

  it('gives text the event model accepts: escapes and control characters removed, CR handled', () => {
    expect(cleanOutput('\u001b[1;31mred\u001b[0m plain\r\n')).toBe('red plain\n');
    expect(cleanOutput('progress 10%\rprogress 55%\rprogress 100%\ndone')).toBe('progress 100%\ndone');
    expect(cleanOutput('\u001b]0;title\u0007bell\u0007 nul\u0000 tab\there')).toBe('bell nul tab\there');
    const tail = new OutputTail();
    tail.push(Buffer.from([0x00, 0x01, 0x1b, 0x5b, 0x41, 0x41, 0xff, 0x0d, 0x42, 0x0a]));
    const job = { id: 'j', status: 'succeeded' as const, outputTail: tail.text() };
    expect(() => parseEventInput({ type: 'job.completed', job })).not.toThrow();
    expect(job.outputTail).toBe('B');
  });
});

describe('resolveServer', () => {
  it('takes the flag, then HERALD_SERVER/HERALD_TOKEN, then the default', () => {
    expect(resolveServer({}, {})).toEqual({ url: DEFAULT_SERVER_URL });
    expect(resolveServer({}, { HERALD_SERVER: 'http://127.0.0.1:9000/', HERALD_TOKEN: 'env' })).toEqual({
      url: 'http://127.0.0.1:9000',
      token: 'env',
    });
    expect(
      resolveServer({ server: 'https://herald.example.com/base/', token: 'flag' }, { HERALD_SERVER: 'http://x', HERALD_TOKEN: 'env' }),
    ).toEqual({ url: 'https://herald.example.com/base', token: 'flag' });
    expect(resolveServer({ server: 'localhost:5080' }, {})).toEqual({ url: 'http://localhost:5080' });
  });

  it('refuses what is not an http(s) base URL', () => {
    expect(() => resolveServer({ server: 'ftp://x' }, {})).toThrow(UsageError);
    expect(() => resolveServer({}, { HERALD_SERVER: 'http://[bad' })).toThrow(/HERALD_SERVER is not a URL/);
    expect(() => resolveServer({ server: 'http://x/?a=1' }, {})).toThrow(/without \?query/);
  });
});

describe('herald run argument handling', () => {
  it('splits herald flags from the command at "--" or the first word', () => {
    expect(splitCommand(['--topic', 't', '--', 'make', '--topic', 'x'])).toEqual({
      own: ['--topic', 't'],
      command: ['make', '--topic', 'x'],
    });
    expect(splitCommand(['--name=a b', '--no-tail', 'make', '-j8'])).toEqual({
      own: ['--name=a b', '--no-tail'],
      command: ['make', '-j8'],
    });
    expect(splitCommand(['--topic'])).toEqual({ own: ['--topic'], command: [] });
  });

  it('names the job after the command line, quoted like a shell would take it', () => {
    expect(displayCommand(['make', '-j8'])).toBe('make -j8');
    expect(displayCommand(['sh', '-c', "echo 'hi' && ls"])).toBe(`sh -c 'echo '\\''hi'\\'' && ls'`);
    expect(displayCommand(['printf', 'a\nb'])).toBe(`printf 'a b'`);
    expect(displayCommand(['x', 'y'.repeat(1000)]).length).toBe(256);
  });

  it('reads priorities as 1 to 5 or their names, and nothing else', () => {
    expect(parsePriority('4')).toBe(4);
    expect(parsePriority(' URGENT ')).toBe(5);
    for (const bad of ['loud', '0', '6', '7', '4.5', '-1', '']) expect(parsePriority(bad), bad).toBeUndefined();
  });
});

describe('nearest (did you mean)', () => {
  const flags = ['server', 'token', 'topic', 'title', 'priority', 'tags', 'url', 'type', 'json', 'help'];
  it('finds the option a typo meant: a missing, extra, wrong or swapped letter, or a unique prefix', () => {
    expect(nearest('priorty', flags)).toBe('priority');
    expect(nearest('proirity', flags)).toBe('priority');
    expect(nearest('tittle', flags)).toBe('title');
    expect(nearest('servr', flags)).toBe('server');
    expect(nearest('prio', flags)).toBe('priority');
    expect(nearest('Topic', flags)).toBe('topic');
  });

  it('suggests nothing for a word that is not close to any', () => {
    expect(nearest('colour', flags)).toBeUndefined();
    expect(nearest('verbose', flags)).toBeUndefined();
    expect(nearest('t', flags)).toBeUndefined();
    expect(nearest('x', ['send', 'run'])).toBeUndefined();
  });
});

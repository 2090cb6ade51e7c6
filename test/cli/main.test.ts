import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { herald } from './harness.ts';

const FLAGS: Record<string, string[]> = {
  send: ['--server', '--token', '--topic', '--title', '--priority', '--tags', '--url', '--type', '--json', 'Example:'],
  run: ['--server', '--token', '--topic', '--name', '--priority', '--no-tail', 'cancelled', 'Example:'],
  serve: ['--port', '--host', '--data-dir', '--token', '--allow-origin', '--retention-events', '--retention-days', 'Example:'],
};

describe('herald (dispatch and help)', () => {
  for (const [command, flags] of Object.entries(FLAGS)) {
    it(`herald ${command} --help exits 0 and names its flags`, async () => {
      const r = await herald([command, '--help']);
      expect(r.code).toBe(0);
      const text = r.stdout.toString();
      expect(text.startsWith(`Usage: herald ${command}`)).toBe(true);
      for (const flag of flags) expect(text, flag).toContain(flag);
      const viaHelp = await herald(['help', command]);
      expect(viaHelp.stdout.toString()).toBe(text);
    });
  }

  it('prints the overview with --help, -h and help', async () => {
    for (const arg of ['--help', '-h', 'help']) {
      const r = await herald([arg]);
      expect(r.code).toBe(0);
      for (const word of ['send', 'run', 'serve', 'listen', 'HERALD_SERVER', 'HERALD_TOKEN', 'HERALD_DATA_DIR'])
        expect(r.stdout.toString()).toContain(word);
    }
  });

  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await herald(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe(`herald ${version}\n`);
  });

  it('names an unknown command and lists the real ones (exit 2)', async () => {
    const r = await herald(['publish', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr.toString()).toContain('unknown command "publish"');
    expect(r.stderr.toString()).toContain('send, run, serve, listen, help');
    const none = await herald([]);
    expect(none.code).toBe(2);
    const typo = await herald(['sned', 'x']);
    expect(typo.code).toBe(2);
    expect(typo.stderr.toString()).toContain('unknown command "sned" (did you mean send?)');
  });

  it('suggests the nearest option for a mistyped one, in every command', async () => {
    for (const [args, meant] of [
      [['run', '--nmae', 'x', '--', 'true'], '--name'],
      [['serve', '--prot', '0'], '--port'],
      [['listen', '--topc', 'a'], '--topic'],
    ] as const) {
      const r = await herald([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.toString(), args.join(' ')).toContain(`: did you mean ${meant}?`);
    }
  });
});

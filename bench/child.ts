// The runner's side of a benchmark child: spawns `node <script>` (through `sh -c 'ulimit -n …'`
// when the open-file limit must be raised), waits for its ready line, sends commands and reads
// replies. Every child is remembered and killed when the runner exits, however it exits.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ReplyMessage } from './protocol.ts';

const living = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllChildren);
}

/** Kills every child still running (SIGKILL): the last resort on the way out. */
export function killAllChildren(): void {
  for (const child of living) child.kill('SIGKILL');
}

/** A runner stopped by Ctrl-C, kill or a closed terminal says so, kills every child and exits 130. */
export function stopChildrenOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}: stopping every child process\n`);
      killAllChildren();
      process.exit(130);
    });
  }
}

export interface FileLimit {
  soft: number;
  hard: number;
  /** The soft limit children get. */
  children: number;
  /** Whether children are started through `sh -c 'ulimit -n …'`. */
  raised: boolean;
  note: string;
}

/** Reads `ulimit -n` and decides what the children can have: `wanted`, or the hard limit if lower. */
export function fileLimit(wanted: number): FileLimit {
  const read = (flag: string) => {
    const out = execFileSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Infinity : Number(out);
  };
  const soft = read('-Sn');
  const hard = read('-Hn');
  if (soft >= wanted) return { soft, hard, children: soft, raised: false, note: `open files: soft ${soft} ≥ ${wanted} needed` };
  const children = Math.min(hard, wanted);
  const note =
    children >= wanted
      ? `open files: soft limit ${soft} raised to ${children} for the children`
      : `open files: hard limit ${hard} is below the ${wanted} wanted; children get ${children}, so the largest idle scenario may fail to open every stream (raise it with \`ulimit -Hn\` as root)`;
  return { soft, hard, children, raised: children > soft, note };
}

export interface BenchChildOptions {
  name: string;
  script: string;
  args?: string[];
  nodeFlags?: string[];
  limit?: FileLimit;
  cwd?: string;
  readyTimeoutMs?: number;
}

export class BenchChild {
  readonly name: string;
  readonly process: ChildProcess;
  ready: Record<string, unknown> = {};
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  #stderrTail = '';
  #exited: Promise<number | null>;

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.process = child;
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.process.pid!;
  }

  get stderr(): string {
    return this.#stderrTail;
  }

  static async spawn(options: BenchChildOptions): Promise<BenchChild> {
    installExitHook();
    const nodeArgs = [...(options.nodeFlags ?? []), options.script, ...(options.args ?? [])];
    // `exec` keeps the pid: the one the runner reads in /proc is node's, not the shell's.
    const child = options.limit?.raised
      ? spawn('sh', ['-c', `ulimit -n ${options.limit.children} && exec "$0" "$@"`, process.execPath, ...nodeArgs], {
          cwd: options.cwd,
          stdio: ['pipe', 'pipe', 'pipe'],
        })
      : spawn(process.execPath, nodeArgs, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    living.add(child);
    child.once('exit', () => living.delete(child));
    const handle = new BenchChild(options.name, child);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      handle.#stderrTail = (handle.#stderrTail + chunk).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout! });
    const readyPromise = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${options.name} did not start within ${options.readyTimeoutMs ?? 20_000} ms:\n${handle.#stderrTail}`)),
        options.readyTimeoutMs ?? 20_000,
      );
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${options.name} exited with ${code} before it was ready:\n${handle.#stderrTail}`));
        for (const w of handle.#waiting.values()) w.reject(new Error(`${options.name} exited (${code}):\n${handle.#stderrTail}`));
        handle.#waiting.clear();
      });
      lines.on('line', (line) => {
        let message: ReplyMessage & { ready?: boolean };
        try {
          message = JSON.parse(line) as ReplyMessage & { ready?: boolean };
        } catch {
          handle.#stderrTail = (handle.#stderrTail + `[stdout] ${line}\n`).slice(-4000);
          return;
        }
        if (message.ready) {
          handle.ready = message as unknown as Record<string, unknown>;
          clearTimeout(timer);
          resolve();
          return;
        }
        const w = handle.#waiting.get(message.id);
        if (!w) return;
        handle.#waiting.delete(message.id);
        clearTimeout(w.timer);
        if (message.ok) w.resolve(message.result);
        else w.reject(new Error(`${options.name}: ${message.error}`));
      });
    });
    try {
      await readyPromise;
    } catch (error) {
      await handle.kill();
      throw error;
    }
    return handle;
  }

  call<T>(cmd: string, args: unknown = {}, timeoutMs = 120_000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`${this.name}: no answer to ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.process.stdin!.write(`${JSON.stringify({ id, cmd, args })}\n`);
    });
  }

  /** Asks the child to exit (it closes its server), then kills it if it has not within a few seconds. */
  async kill(graceMs = 4000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.stdin!.end();
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}

// What the runner reads about a child from Linux's /proc, and about the machine.
import fs from 'node:fs';
import os from 'node:os';

const CLOCK_TICKS = 100; // USER_HZ: 100 on every Linux the benchmark targets

export interface ProcessSample {
  at: number;
  /** Resident set, bytes. */
  rss: number;
  /** User + system CPU, milliseconds. */
  cpuMs: number;
  /** System (kernel) CPU alone, milliseconds: for a server, mostly socket writes. */
  systemCpuMs: number;
  /** Context switches summed over every thread: each voluntary one is a wake-up after a wait. */
  voluntarySwitches: number;
  involuntarySwitches: number;
  /** The main thread's own voluntary switches (the event loop waking up). */
  mainThreadVoluntary: number;
}

function statusField(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

export function sampleProcess(pid: number): ProcessSample {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  let voluntary = 0;
  let involuntary = 0;
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const t = fs.readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      voluntary += statusField(t, 'voluntary_ctxt_switches');
      involuntary += statusField(t, 'nonvoluntary_ctxt_switches');
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return {
    at: performance.now(),
    rss: statusField(status, 'VmRSS') * 1024,
    cpuMs: (ticks * 1000) / CLOCK_TICKS,
    systemCpuMs: (Number(fields[12]) * 1000) / CLOCK_TICKS,
    voluntarySwitches: voluntary,
    involuntarySwitches: involuntary,
    mainThreadVoluntary: statusField(status, 'voluntary_ctxt_switches'),
  };
}

/** Samples a process every `intervalMs` until stopped; the samples feed "memory over time". */
export class ProcessSampler {
  readonly samples: ProcessSample[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(pid: number, intervalMs = 250) {
    const take = () => {
      try {
        this.samples.push(sampleProcess(pid));
      } catch {
        // the process is gone; the caller sees it elsewhere
      }
    };
    take();
    this.#timer = setInterval(take, intervalMs);
  }

  stop(): ProcessSample[] {
    clearInterval(this.#timer);
    return this.samples;
  }
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  date: string;
}

export function machineInfo(): MachineInfo {
  let osName = `${os.type()} ${os.release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    if (pretty) osName = `${pretty[1]} (${os.type()} ${os.release()})`;
  } catch {
    // not every system has /etc/os-release
  }
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osName,
    node: process.version,
    date: new Date().toISOString(),
  };
}

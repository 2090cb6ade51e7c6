// The end of a job's output, kept while it passes through, for `job.outputTail`: bounded in
// bytes while collecting, and cleaned into text the event model accepts when asked for.
import { LIMITS } from '../events/event.ts';

export interface OutputTailOptions {
  /** Raw bytes kept while collecting. Default 4096. */
  maxBytes?: number;
  /** Lines in the text. Default 20. */
  maxLines?: number;
  /** Characters in the text. Default LIMITS.outputTailLength (4096). */
  maxChars?: number;
}

/**
 * The end of a command's output. Lines are kept whole per stream: a line that stdout is in the
 * middle of is not cut in two by what stderr writes meanwhile; it joins the tail when it ends,
 * in the order lines end. (Two pipes have no order between bytes that arrive together: `herald
 * run` gives the command one channel for both when they go to the same place, see run.ts.)
 */
export class OutputTail {
  readonly #maxBytes: number;
  readonly #maxLines: number;
  readonly #maxChars: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = false;
  /** Per stream, the line it is in the middle of (at most maxBytes of its end). */
  #partial = new Map<string, { bytes: Buffer; cut: boolean }>();

  constructor(options: OutputTailOptions = {}) {
    this.#maxBytes = options.maxBytes ?? 4096;
    this.#maxLines = options.maxLines ?? 20;
    this.#maxChars = Math.min(options.maxChars ?? LIMITS.outputTailLength, LIMITS.outputTailLength);
  }

  /** Adds output from one stream (`stream` names it: "stdout", "stderr"; one name for one channel). */
  push(chunk: Buffer, stream = 'output'): void {
    if (chunk.length === 0) return;
    const partial = this.#partial.get(stream);
    const end = chunk.lastIndexOf(0x0a);
    if (end === -1) {
      this.#partial.delete(stream); // re-inserted last: partial lines are shown in the order they were last written to
      this.#partial.set(stream, this.#keepEnd(partial ? Buffer.concat([partial.bytes, chunk]) : chunk, partial?.cut ?? false));
      return;
    }
    if (partial) {
      if (partial.cut) this.#cutLine();
      this.#append(partial.bytes);
    }
    this.#append(chunk.subarray(0, end + 1));
    this.#partial.delete(stream);
    if (end + 1 < chunk.length) this.#partial.set(stream, this.#keepEnd(chunk.subarray(end + 1), false));
  }

  /** The last lines as plain text: no terminal escapes, no control characters but tab and newline. */
  text(): string {
    const parts = [...this.#chunks];
    for (const { bytes } of this.#partial.values()) parts.push(bytes, Buffer.from('\n'));
    let buf = Buffer.concat(parts);
    let cut = this.#dropped;
    const limit = this.#maxBytes * (1 + this.#partial.size);
    if (buf.length > limit) {
      buf = buf.subarray(buf.length - limit);
      cut = true;
    }
    // A cut may land inside a UTF-8 character: skip its continuation bytes rather than show U+FFFD.
    let start = 0;
    if (cut) while (start < 3 && start < buf.length && (buf[start]! & 0xc0) === 0x80) start++;
    const lines = cleanOutput(buf.subarray(start).toString('utf8')).split('\n');
    if (lines.at(-1) === '') lines.pop();
    // When the start was cut off, the first line is only a fragment of one.
    if (cut && lines.length > 1) lines.shift();
    let text = lines.slice(-this.#maxLines).join('\n');
    if (text.length > this.#maxChars) text = text.slice(text.length - this.#maxChars);
    return text;
  }

  #append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (chunk.length >= this.#maxBytes) {
      if (chunk.length > this.#maxBytes || this.#size > 0) this.#dropped = true;
      this.#chunks = [chunk.subarray(chunk.length - this.#maxBytes)];
      this.#size = this.#maxBytes;
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    // Drop whole chunks from the front while what stays still covers maxBytes.
    while (this.#size - this.#chunks[0]!.length >= this.#maxBytes) {
      this.#size -= this.#chunks.shift()!.length;
      this.#dropped = true;
    }
  }

  /** A line longer than maxBytes lost its start: what is kept of it must not pass for a whole line. */
  #cutLine(): void {
    this.#chunks = [];
    this.#size = 0;
    this.#dropped = true;
  }

  #keepEnd(bytes: Buffer, cut: boolean): { bytes: Buffer; cut: boolean } {
    if (bytes.length <= this.#maxBytes) return { bytes, cut };
    // Cut at a character: skip the continuation bytes of one the cut landed in.
    let start = bytes.length - this.#maxBytes;
    for (let i = 0; i < 3 && (bytes[start]! & 0xc0) === 0x80; i++) start++;
    return { bytes: Buffer.from(bytes.subarray(start)), cut: true };
  }
}

// CSI (colours, cursor moves), OSC (window titles, links) and other two-byte ESC sequences.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-_]/g;
// C1 too (U+009B is CSI): the event model refuses them, and a tail with one would lose the whole report.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Terminal output as it would end up on screen, roughly: CRLF is a line end, a bare CR rewrites the line (progress bars). */
export function cleanOutput(raw: string): string {
  return raw
    .replace(ANSI, '')
    .replace(/\r+\n/g, '\n')
    .split('\n')
    .map((line) => {
      const cr = line.lastIndexOf('\r');
      return cr === -1 ? line : line.slice(cr + 1);
    })
    .join('\n')
    .replace(CONTROL, '');
}

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

export class OutputTail {
  readonly #maxBytes: number;
  readonly #maxLines: number;
  readonly #maxChars: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = false;

  constructor(options: OutputTailOptions = {}) {
    this.#maxBytes = options.maxBytes ?? 4096;
    this.#maxLines = options.maxLines ?? 20;
    this.#maxChars = Math.min(options.maxChars ?? LIMITS.outputTailLength, LIMITS.outputTailLength);
  }

  push(chunk: Buffer): void {
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

  /** The last lines as plain text: no terminal escapes, no control characters but tab and newline. */
  text(): string {
    let buf = Buffer.concat(this.#chunks, this.#size);
    let cut = this.#dropped;
    if (buf.length > this.#maxBytes) {
      buf = buf.subarray(buf.length - this.#maxBytes);
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

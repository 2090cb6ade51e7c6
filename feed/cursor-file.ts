// A cursor kept in a small JSON file, for `herald listen`:
// `{ "lastEventId": "123", "epoch": "<the server log's epoch>" }`. Written
// atomically (temp file in the same directory, fsync, rename) so a crash or a full disk leaves
// either the old cursor or the new one, never half a file.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { isEpoch, isEventId } from '../events/event.ts';
import type { Cursor, CursorStore } from './client.ts';

export class FileCursorStore implements CursorStore {
  readonly file: string;

  constructor(file: string) {
    this.file = path.resolve(file);
  }

  /** The saved cursor; undefined when the file does not exist yet. A damaged file is an error that
   * names the file, so the user can fix or delete it rather than silently replaying everything.
   * A file without an epoch (written before epochs, or for a server that sends none) is valid. */
  load(): Cursor | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let saved: { lastEventId?: unknown; epoch?: unknown } | null;
    try {
      saved = JSON.parse(text) as typeof saved;
    } catch {
      throw new Error(`${this.file} is not valid JSON: fix it or delete it to start from the newest events`);
    }
    const id = saved?.lastEventId;
    if (typeof id !== 'string' || !isEventId(id)) {
      throw new Error(`${this.file} has no valid "lastEventId": fix it or delete it to start from the newest events`);
    }
    const epoch = saved?.epoch;
    if (epoch !== undefined && !isEpoch(epoch)) {
      throw new Error(`${this.file} has an "epoch" that is not 16 hex digits: fix it or delete it to start from the newest events`);
    }
    return epoch === undefined ? { lastEventId: id } : { lastEventId: id, epoch };
  }

  save(cursor: Cursor): void {
    const dir = path.dirname(this.file);
    fs.mkdirSync(dir, { recursive: true });
    const temp = path.join(dir, `.${path.basename(this.file)}.${process.pid}.tmp`);
    const fd = fs.openSync(temp, 'w', 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify({ lastEventId: cursor.lastEventId, ...(cursor.epoch ? { epoch: cursor.epoch } : {}) })}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, this.file);
  }
}

// Idempotent publishing, the HTTP side: the Idempotency-Key header, the hash a key is bound to,
// and the answers (201 stored, 200 the event stored before, 409 the key bound to another event).
// The log keeps the keys (server/log.ts); this file only turns requests into claims. Node.
import type { Response } from 'express';
import type { EventInput } from '../events/event.ts';
import { HttpError } from './errors.ts';
import { nodeCrypto } from './lazy.ts';
import type { AppendOutcome, IdempotencyClaim } from './log.ts';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** Set to "true" on a 200 that answers a repeat with the event stored before (as Stripe does). */
export const REPLAYED_HEADER = 'Idempotent-Replayed';
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

// Printable ASCII: a key is an opaque token (a UUID, a delivery id), written to logs and errors.
const KEY_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * The request's Idempotency-Key, or undefined when none was sent. The IETF draft writes it as a
 * quoted structured-field string ("8e03…"); most clients send it bare: both are taken, the
 * quotes are not part of the key.
 */
export function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw badKey('send it once');
  let key = header.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
  if (key === '') throw badKey('it is empty: send a unique value such as a UUID, or leave the header out');
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH)
    throw badKey(`it must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters (got ${key.length})`);
  if (!KEY_PATTERN.test(key)) throw badKey('it must be printable ASCII (a UUID is a good key)');
  return key;
}

/**
 * The hash a key is bound to: of the validated event, not of the bytes, so a retry that sends the
 * same event is a repeat however it was spelt (JSON key order, text/plain with headers), and one
 * that asks for anything else is a conflict. parseEventInput builds its result in a fixed field
 * order, which makes its JSON canonical.
 */
export function eventHash(input: EventInput): string {
  return nodeCrypto().createHash('sha256').update(JSON.stringify(input)).digest('hex');
}

export function claimFor(key: string, input: EventInput): IdempotencyClaim {
  return { key, bodyHash: eventHash(input) };
}

/** Answers a publish: 201 with the new event, 200 with the event stored before, or 409. */
export function answerPublish(res: Response, outcome: AppendOutcome, keyName = IDEMPOTENCY_KEY_HEADER): void {
  if (outcome.kind === 'conflict') throw keyConflict(outcome.key, keyName);
  if (outcome.kind === 'repeat') res.setHeader(REPLAYED_HEADER, 'true');
  res
    .status(outcome.kind === 'stored' ? 201 : 200)
    .type('application/json')
    .send(outcome.event.json);
}

/** 409 naming the key: the same key was used for a different event. */
export function keyConflict(key: string, keyName = IDEMPOTENCY_KEY_HEADER): HttpError {
  const shown = key.length > 80 ? `${key.slice(0, 79)}…` : key;
  return new HttpError(
    'conflict',
    `${keyName} ${JSON.stringify(shown)} was already used for a different event: a retry must send the same event, and a new event needs a new key.`,
    { field: keyName },
  );
}

function badKey(why: string): HttpError {
  return new HttpError('bad_request', `${IDEMPOTENCY_KEY_HEADER}: ${why}.`, { field: IDEMPOTENCY_KEY_HEADER });
}

// POST /hooks/github and POST /hooks/gitlab: CI providers' own webhooks, verified by the hook's
// secret (not by --token: a provider cannot send one), turned into job events and published
// through the same queue as POST /events, with the delivery id as the idempotency key. Node.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { EventValidationError, TOPIC_PATTERN, parseEventInput } from '../../events/event.ts';
import { HttpError } from '../errors.ts';
import type { PublishLimit } from '../guard.ts';
import { answerPublish, claimFor } from '../idempotency.ts';
import type { PublishQueue } from '../publish-queue.ts';
import { ciJobEvent, DEFAULT_CI_TOPIC, type CiRun, type HookResult } from './ci-job.ts';
import { githubDelivery, githubEventName, mapGithubEvent, verifyGithubSignature } from './github.ts';
import { gitlabDelivery, mapGitlabEvent, verifyGitlabToken } from './gitlab.ts';
import { describeError } from '../../events/errors.ts';

/** Largest hook body: providers' payloads carry whole repository objects and, for GitLab
 * pipelines, every job, so they are far larger than a Herald event (GitHub's run about 20 KB). */
export const MAX_HOOK_BODY_BYTES = 1024 * 1024;
/** Runs whose end was stored, remembered so that a late start does not undo it. */
export const DEFAULT_REMEMBERED_ENDS = 4096;

export interface HookSecrets {
  /** GitHub/Gitea/Forgejo webhook secret; POST /hooks/github answers 404 without it. */
  githubSecret?: string;
  /** GitLab webhook secret token; POST /hooks/gitlab answers 404 without it. */
  gitlabToken?: string;
}

export interface HookContext {
  queue: PublishQueue;
  rate: PublishLimit;
  log(line: string): void;
  clientAddress(req: Request): string;
}

export function hookRoutes(context: HookContext, secrets: HookSecrets): Router {
  for (const [name, value] of Object.entries(secrets)) {
    if (value === '') throw new Error(`The ${name} is empty: give a secret, or leave it out to keep its hook endpoint closed.`);
  }
  const router = express.Router();
  const ends = new RememberedEnds(DEFAULT_REMEMBERED_ENDS);
  const readBody = express.raw({ type: () => true, limit: MAX_HOOK_BODY_BYTES, inflate: false });
  const takeRate = async (req: Request, _res: Response, next: NextFunction) => {
    await context.rate.take(context.clientAddress(req));
    next();
  };
  const configured =
    (secret: string | undefined, provider: string, flag: string, env: string) => (_req: Request, _res: Response, next: NextFunction) => {
      // [issue 11] An open server does not accept forged CI events: no secret, no endpoint.
      if (secret === undefined)
        throw new HttpError('not_found', `${provider} hooks are off on this server: start it with ${flag} (or ${env}) to take them.`);
      next();
    };

  router.post(
    '/hooks/github',
    configured(secrets.githubSecret, 'GitHub', '--github-secret', 'HERALD_GITHUB_SECRET'),
    takeRate,
    readBody,
    async (req: Request, res: Response) => {
      const raw = rawBodyOf(req);
      const check = verifyGithubSignature(req.headers, raw, secrets.githubSecret!);
      if (!check.ok) throw new HttpError('unauthorized', `Signature refused: ${check.reason}.`);
      const eventName = githubEventName(req.headers);
      if (eventName === undefined)
        throw new HttpError('bad_request', 'No X-GitHub-Event header: this endpoint takes GitHub, Gitea and Forgejo webhooks.', {
          field: 'X-GitHub-Event',
        });
      const payload = githubPayload(req, raw);
      if (eventName === 'ping') {
        res.status(200).json({ status: 'ok', message: 'Herald is listening: workflow_run and check_suite events become job events.' });
        return;
      }
      await publishResult(req, res, mapGithubEvent(eventName, payload), githubDelivery(req.headers), 'github');
    },
  );

  router.post(
    '/hooks/gitlab',
    configured(secrets.gitlabToken, 'GitLab', '--gitlab-token', 'HERALD_GITLAB_TOKEN'),
    takeRate,
    readBody,
    async (req: Request, res: Response) => {
      const raw = rawBodyOf(req);
      const check = verifyGitlabToken(req.headers, secrets.gitlabToken!);
      if (!check.ok) throw new HttpError('unauthorized', `Token refused: ${check.reason}.`);
      await publishResult(req, res, mapGitlabEvent(parseJson(raw)), gitlabDelivery(req.headers), 'gitlab');
    },
  );

  for (const path of ['/hooks/github', '/hooks/gitlab']) {
    router.all(path, (req: Request) => {
      throw new HttpError('method_not_allowed', `${req.method} ${path} is not supported: CI providers POST their webhooks here.`);
    });
  }

  async function publishResult(
    req: Request,
    res: Response,
    result: HookResult,
    delivery: { header: string; id: string } | undefined,
    provider: string,
  ): Promise<void> {
    if (result.kind === 'ignored') {
      // 202: the provider's delivery log shows it as delivered, with the reason beside it.
      res.status(202).json({ status: 'ignored', reason: result.reason });
      return;
    }
    const topic = hookTopic(req);
    const run = result.run;
    const jobKey = `${run.host}:${run.runKey}`;
    if (run.phase !== 'done' && ends.has(jobKey)) {
      res.status(202).json({
        status: 'ignored',
        reason: `this run's end was already reported (event ${ends.get(jobKey)}): a start that arrives after it is not`,
      });
      return;
    }
    let input;
    try {
      input = parseEventInput(ciJobEvent(run, topic));
    } catch (error) {
      if (error instanceof EventValidationError)
        throw new HttpError('bad_request', `The payload does not make a valid job event: ${error.message}.`, { field: error.field });
      throw error;
    }
    const claim = delivery ? claimFor(`${provider}:${delivery.id}`, input) : undefined;
    const outcome = await context.queue.publishClaimed(input, claim);
    if (outcome.kind !== 'conflict' && run.phase === 'done' && endsForGood(run)) ends.add(jobKey, String(outcome.event.id));
    answerPublish(res, outcome, delivery?.header);
  }

  return router;
}

/**
 * A run whose id never starts again: a GitHub run attempt (a re-run is a new attempt), a GitLab
 * job (a retry is a new job). A GitLab pipeline is retried under its own id, so its later start is
 * real and is let through.
 */
function endsForGood(run: CiRun): boolean {
  return !run.runKey.startsWith('pipeline:');
}

/** The topic from ?topic= (the hook URL the provider was given), default "ci". */
function hookTopic(req: Request): string {
  const value = req.query.topic;
  if (value === undefined || value === '') return DEFAULT_CI_TOPIC;
  if (typeof value !== 'string' || !TOPIC_PATTERN.test(value)) {
    throw new HttpError(
      'bad_request',
      'topic must be 1 to 64 characters of A-Z, a-z, 0-9, "_" or "-": fix the ?topic= in the webhook URL.',
      { field: 'topic' },
    );
  }
  return value;
}

function rawBodyOf(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/** GitHub sends JSON, or (its form's default content type) `payload=<JSON>` form-encoded. */
function githubPayload(req: Request, raw: Buffer): unknown {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    const payload = new URLSearchParams(raw.toString('utf8')).get('payload');
    if (payload === null)
      throw new HttpError(
        'bad_request',
        "A form-encoded hook needs a payload field (or set the webhook's content type to application/json).",
        { field: 'payload' },
      );
    return parseJson(Buffer.from(payload, 'utf8'));
  }
  return parseJson(raw);
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new HttpError('bad_request', `The hook's body is not valid JSON (${describeError(error)}).`, { field: 'body' });
  }
}

/** A bounded map of run → the event id of its stored end; the oldest entry goes first. */
class RememberedEnds {
  readonly #max: number;
  readonly #ends = new Map<string, string>();
  constructor(max: number) {
    this.#max = max;
  }
  has(key: string): boolean {
    return this.#ends.has(key);
  }
  get(key: string): string | undefined {
    return this.#ends.get(key);
  }
  add(key: string, eventId: string): void {
    this.#ends.delete(key);
    this.#ends.set(key, eventId);
    if (this.#ends.size > this.#max) this.#ends.delete(this.#ends.keys().next().value!);
  }
}

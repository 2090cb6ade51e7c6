// The server's answers match the shapes typed once in events/ (HistoryPage, HealthReport,
// ErrorBody), with the status that ERROR_STATUS gives each error code.
import { afterEach, describe, expect, it } from 'vitest';
import { isHeraldEvent } from '../../events/event.ts';
import { ERROR_STATUS, isErrorBody } from '../../events/errors.ts';
import { isHistoryPage, type HealthReport } from '../../events/http.ts';
import { history, publish, startTestServer, type TestServer } from './harness.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.cleanup();
  server = undefined;
});

describe('wire shapes', () => {
  it('answers /history with a HistoryPage whose spliced events are Herald events, a reset included', async () => {
    server = await startTestServer();
    for (let i = 1; i <= 3; i++) await publish(server.url, { title: `n${i}` });
    const page = await history(server.url, 'after=0&limit=2');
    expect(page).toMatchObject({ next: '2', more: true, lastId: '3' });
    expect(page.events.map((e) => e.title)).toEqual(['n1', 'n2']);
    const reset = await (await fetch(`${server.url}/history?after=2&epoch=0123456789abcdef`)).json();
    expect(isHistoryPage(reset)).toBe(true);
    expect(reset).toMatchObject({ reset: true, next: '3' });
    expect((reset as { events: unknown[] }).events.every(isHeraldEvent)).toBe(true);
  });

  it('answers /health with a HealthReport', async () => {
    server = await startTestServer();
    await publish(server.url, { title: 'one' });
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    const report = (await res.json()) as HealthReport;
    expect(report).toMatchObject({ status: 'ok', lastId: '1', subscribers: 0, store: { kind: 'sqlite', up: true } });
    expect(Object.keys(report).sort()).toEqual(
      ['epoch', 'lastId', 'status', 'storedEvents', 'store', 'subscribers', 'uptimeSeconds', 'version'].sort(),
    );
  });

  it('answers every refusal with an ErrorBody and the status its code is given in ERROR_STATUS', async () => {
    server = await startTestServer({ token: 'secret' });
    const auth = { Authorization: 'Bearer secret' };
    const cases: Array<[string, RequestInit]> = [
      ['/events', { method: 'POST', headers: auth }],
      ['/events', { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: '{"priority":9,"title":"x"}' }],
      ['/events', { method: 'POST', headers: { ...auth, 'Content-Type': 'image/png' }, body: 'x' }],
      ['/events', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' }],
      ['/history?after=1&last=1', { headers: auth }],
      ['/nowhere', { headers: auth }],
      ['/history', { method: 'DELETE', headers: auth }],
    ];
    const seen = new Set<string>();
    for (const [route, init] of cases) {
      const res = await fetch(`${server.url}${route}`, init);
      const body: unknown = await res.json();
      expect(isErrorBody(body), `${init.method ?? 'GET'} ${route}`).toBe(true);
      if (!isErrorBody(body)) continue;
      expect(res.status, body.error.code).toBe(ERROR_STATUS[body.error.code]);
      seen.add(body.error.code);
    }
    expect([...seen].sort()).toEqual(['bad_request', 'method_not_allowed', 'not_found', 'unauthorized', 'unsupported_media_type']);
  });
});

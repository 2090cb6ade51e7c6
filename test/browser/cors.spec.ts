// A page on another origin, listed with --allow-origin, reads the stream the way the founding note
// does (`new EventSource(url, { withCredentials: true })`) and fetches with credentials; a page on
// an origin that is not listed cannot. Real Chromium, two real origins, a real server.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { startServer, type RunningServer } from '../../server/serve.ts';

/** A bare page on its own origin (another port is another origin). */
async function startPage(): Promise<{ url: string; origin: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>dashboard</title>'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface StreamResult {
  opened: boolean;
  title?: string;
  readyState: number;
}

/** In the page: opens a credentialed EventSource and reports the first notification, or the failure. */
function openCredentialedStream(url: string): Promise<StreamResult> {
  return new Promise((resolve) => {
    const source = new EventSource(url, { withCredentials: true });
    let opened = false;
    source.addEventListener('open', () => (opened = true));
    source.addEventListener('notification', (m) => {
      source.close();
      resolve({
        opened,
        title: (JSON.parse((m as MessageEvent).data as string) as { title: string }).title,
        readyState: source.readyState,
      });
    });
    source.addEventListener('error', () => {
      // A CORS refusal closes the EventSource for good; a live one would be CONNECTING here.
      if (source.readyState === EventSource.CLOSED) resolve({ opened, readyState: source.readyState });
    });
  });
}

test.describe('a page on another origin', () => {
  let dataDir: string;
  let server: RunningServer;
  let listed: Awaited<ReturnType<typeof startPage>>;
  let unlisted: Awaited<ReturnType<typeof startPage>>;

  test.beforeEach(async () => {
    listed = await startPage();
    unlisted = await startPage();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-cors-'));
    server = await startServer({ dataDir, port: 0, log: () => {}, allowedOrigins: [listed.origin], token: 'dash-token' });
  });
  test.afterEach(async () => {
    await server.close();
    await listed.close();
    await unlisted.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const publish = (title: string) =>
    fetch(`${server.url}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer dash-token' },
      body: JSON.stringify({ title }),
    });

  test('listed with --allow-origin, it reads the stream with withCredentials: true and fetches with credentials', async ({ page }) => {
    expect((await publish('seen from the dashboard')).status).toBe(201);
    await page.goto(listed.url);
    const result = await page.evaluate(openCredentialedStream, `${server.url}/events?lastEventId=0&token=dash-token`);
    expect(result).toEqual({ opened: true, title: 'seen from the dashboard', readyState: 2 });
    const history = await page.evaluate(async (url) => {
      const res = await fetch(url, { credentials: 'include', headers: { Authorization: 'Bearer dash-token' } });
      return { status: res.status, titles: ((await res.json()) as { events: Array<{ title: string }> }).events.map((e) => e.title) };
    }, `${server.url}/history?after=0`);
    expect(history).toEqual({ status: 200, titles: ['seen from the dashboard'] });
  });

  test('not listed, it cannot open the stream', async ({ page }) => {
    expect((await publish('not for this page')).status).toBe(201);
    await page.goto(unlisted.url);
    const result = await page.evaluate(openCredentialedStream, `${server.url}/events?lastEventId=0&token=dash-token`);
    expect(result).toEqual({ opened: false, readyState: 2 });
  });
});

// The replay/live seam when the store answers late, as a networked store does: the hub may publish
// events the replay's read did not see before that read's answer arrives. A real SQLite store whose
// read answers are held back, a real server, real eventsource clients, publishing all along.
import { afterEach, describe, expect, it } from 'vitest';
import { lateReadingStore, listen, publish, startTestServer, waitFor, type TestServer } from './harness.ts';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe('the replay/live seam with a store that answers late', () => {
  it('gives resuming clients every event once, in order, while events are published during their reads', async () => {
    t = await startTestServer({ store: lateReadingStore(40) });
    for (let i = 0; i < 50; i++) await publish(t.url, { title: `before ${i}` });
    let publishing = true;
    let count = 50;
    const publisher = (async () => {
      while (publishing) {
        await publish(t!.url, { title: 'during' });
        count += 1;
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    })();
    const clients = [];
    for (let i = 0; i < 5; i++) {
      const from = i * 10;
      clients.push({ client: listen(`${t.url}/events?lastEventId=${from}`), from });
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    publishing = false;
    await publisher;
    for (const { client, from } of clients) {
      await waitFor(() => client.received.at(-1)?.lastEventId === String(count), `client from ${from} reached ${count}`);
      client.close();
      expect(client.received.map((r) => r.lastEventId)).toEqual(range(from + 1, count));
    }
  });
});

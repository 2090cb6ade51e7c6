// Network changes wake the feed: back online, or online on another network.

import { describe, expect, it } from 'vitest';
import { addressFingerprint, NetworkWatch, type NetworkSnapshot } from '../../main/network-watch.ts';

function watch(initial: NetworkSnapshot) {
  let snapshot = initial;
  let tick: (() => void) | null = null;
  let changes = 0;
  const w = new NetworkWatch({
    snapshot: () => snapshot,
    onChange: () => changes++,
    setInterval: (fn) => ((tick = fn), 1),
    clearInterval: () => (tick = null),
  });
  w.start();
  return {
    set: (s: NetworkSnapshot) => ((snapshot = s), tick?.()),
    changes: () => changes,
    stop: () => w.stop(),
    ticking: () => tick !== null,
  };
}

describe('NetworkWatch', () => {
  it('reports coming back online and a change of network, not an unchanged one', () => {
    const w = watch({ online: true, addresses: 'wlan0/192.168.1.5' });
    w.set({ online: true, addresses: 'wlan0/192.168.1.5' });
    expect(w.changes()).toBe(0);
    w.set({ online: false, addresses: '' });
    expect(w.changes()).toBe(0); // going offline: nothing to reconnect to yet
    w.set({ online: true, addresses: 'wlan0/192.168.1.5' });
    expect(w.changes()).toBe(1);
    w.set({ online: true, addresses: 'wlan0/10.0.0.7' }); // another Wi-Fi
    expect(w.changes()).toBe(2);
    w.stop();
    expect(w.ticking()).toBe(false);
  });

  it('fingerprints the non-internal addresses, sorted', () => {
    const fp = addressFingerprint({
      lo: [{ address: '127.0.0.1', internal: true } as never],
      wlan0: [{ address: '192.168.1.5', internal: false } as never],
      eth0: [{ address: '10.0.0.2', internal: false } as never],
    });
    expect(fp).toBe('eth0/10.0.0.2,wlan0/192.168.1.5');
    expect(typeof addressFingerprint()).toBe('string');
  });
});

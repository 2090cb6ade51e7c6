// Waiting for the signals that ask a foreground process to stop: Ctrl-C (SIGINT) and a service
// manager's SIGTERM. `herald serve`, `herald listen` and the server's own process share it. Node.

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Calls `handler` on each stop signal, with how many came so far, until the returned function is called. */
export function onStopSignals(handler: (signal: NodeJS.Signals, count: number) => void): () => void {
  let count = 0;
  const listener = (signal: NodeJS.Signals) => handler(signal, ++count);
  for (const name of STOP_SIGNALS) process.on(name, listener);
  return () => {
    for (const name of STOP_SIGNALS) process.off(name, listener);
  };
}

/** The next stop signal, and `dispose` to stop listening (the command ended for another reason). */
export function nextStopSignal(): { signal: Promise<NodeJS.Signals>; dispose(): void } {
  let dispose = () => {};
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    dispose = onStopSignals((name) => {
      dispose();
      resolve(name);
    });
  });
  return { signal, dispose };
}

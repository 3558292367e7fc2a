const cell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread: for short waits in synchronous code paths. */
export function sleepMs(ms: number): void {
  Atomics.wait(cell, 0, 0, ms);
}

export function sleepAsync(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Pauses for polling loops: 50 µs first, doubling up to maxMs. What we wait
 * for (an init reaching execve, a killed process dying) mostly takes well
 * under a millisecond, which a first pause of 1 ms would add to every call.
 */
export function backoff(maxMs: number): () => void {
  let pause = 0.05;
  return () => {
    sleepMs(pause);
    pause = Math.min(pause * 2, maxMs);
  };
}

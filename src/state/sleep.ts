const cell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread: for short waits in synchronous code paths. */
export function sleepMs(ms: number): void {
  Atomics.wait(cell, 0, 0, ms);
}

export function sleepAsync(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

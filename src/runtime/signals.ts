// A foreground run or exec passes the signals it gets on to the process it
// waits for, as runc does: the user's Ctrl-C or an engine's SIGTERM reach the
// container, and tsrun itself stays to report the exit status.
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'];

export function sendSignal(pid: number, sig: NodeJS.Signals | number): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Forwards to pid() (0: nobody yet); returns the function that stops it. */
export function forwardSignals(pid: () => number): () => void {
  const forward = (sig: NodeJS.Signals) => sendSignal(pid(), sig);
  for (const s of FORWARDED) process.on(s, forward);
  return () => {
    for (const s of FORWARDED) process.removeListener(s, forward);
  };
}

// Test-only fault injection: with TSRUN_FAULT=<point>, tsrun kills itself
// with SIGKILL when it reaches that point, so tests can show that a crash
// anywhere leaves a container that state describes truly and delete --force
// removes.
const wanted = process.env.TSRUN_FAULT;

export function faultPoint(name: string): void {
  if (wanted === name) process.kill(process.pid, 'SIGKILL');
}

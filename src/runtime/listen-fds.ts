// Socket activation (sd_listen_fds(3)): a runtime started by systemd with
// LISTEN_PID set to its own pid and LISTEN_FDS=N holds N sockets from fd 3.
// As runc, create and run hand them on to the container first, from fd 3,
// before the --preserve-fds ones, and set LISTEN_FDS=N and LISTEN_PID=1 in
// its environment. Variables meant for another process (LISTEN_PID not ours)
// are not ours to act on, as in runc and libsystemd.
import { fstatSync } from 'node:fs';
import { TsrunError } from '../errors';

/** How many activation fds this process was given; 0 when none are meant for it. */
export function listenFdCount(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number {
  const fds = env.LISTEN_FDS;
  if (fds === undefined || env.LISTEN_PID !== String(pid)) return 0;
  if (!/^\d+$/.test(fds)) throw new TsrunError(`LISTEN_FDS=${fds}: not a number of file descriptors`);
  const n = Number(fds);
  for (let fd = 3; fd < 3 + n; fd++) {
    try {
      fstatSync(fd);
    } catch {
      throw new TsrunError(`LISTEN_FDS=${n}: file descriptor ${fd} is not open`);
    }
  }
  return n;
}

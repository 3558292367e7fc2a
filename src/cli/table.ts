// The whole command line, as data. yargs builds help and errors from it
// (cli/yargs.ts); the fast parser (cli/fastparse.ts) reads it to run the
// commands engines call on every container without loading yargs at all.

export type FlagType = 'boolean' | 'string' | 'number' | 'array';

export interface FlagDef {
  type: FlagType;
  alias?: string[];
  describe: string;
  default?: string | number | boolean;
  choices?: string[];
  /** Accepted for compatibility with runc's callers, not acted upon. */
  ignored?: boolean;
}

export interface CommandDef {
  name: string;
  describe: string;
  /** Positional arguments, in order; a trailing "..." takes the rest. */
  positionals: { name: string; required: boolean; describe: string; rest?: boolean }[];
  flags: Record<string, FlagDef>;
  /** Everything after the positionals goes to the command untouched (exec, ps); shown as restUsage. */
  passThrough?: boolean;
  restUsage?: string;
  aliases?: string[];
}

export const globalFlags: Record<string, FlagDef> = {
  // no default here: main.ts picks /run/tsrun, or $XDG_RUNTIME_DIR/tsrun for a caller who is not root
  root: { type: 'string', describe: 'directory for the state of containers (default /run/tsrun; $XDG_RUNTIME_DIR/tsrun when not root)' },
  log: { type: 'string', describe: 'write log lines to this file instead of stderr' },
  'log-format': { type: 'string', describe: 'format of log lines', choices: ['text', 'json'], default: 'text' },
  debug: { type: 'boolean', describe: 'log debug output' },
  'systemd-cgroup': { type: 'boolean', describe: 'use the systemd cgroup driver: the container gets a transient scope unit (create and run; later commands find it in the state)' },
  rootless: { type: 'string', describe: 'rootless mode: true, false or auto (auto: true when not root, or root in a user namespace)', choices: ['true', 'false', 'auto'] },
  criu: { type: 'string', describe: 'the criu binary that checkpoint and restore run', default: 'criu' },
};

const bundle: FlagDef = { type: 'string', alias: ['b'], describe: 'path to the bundle directory', default: '.' };
const pidFile: FlagDef = { type: 'string', describe: 'write the container process id to this file' };
const consoleSocket: FlagDef = { type: 'string', describe: 'unix socket that receives the pty master of a terminal' };
const noPivot: FlagDef = { type: 'boolean', describe: 'do not use pivot_root (for a rootfs on a ramdisk)' };
const noNewKeyring: FlagDef = { type: 'boolean', describe: 'do not create a new session keyring' };
const preserveFds: FlagDef = { type: 'number', describe: 'pass N more file descriptors (3 .. 3+N-1) to the container', default: 0 };
const detach: FlagDef = { type: 'boolean', alias: ['d'], describe: 'detach from the container process' };
const id = { name: 'container-id', required: true, describe: 'the container id' };
// checkpoint and restore (runc's flags; CRIU's options of the same names)
const imagePath: FlagDef = { type: 'string', describe: 'the directory of the CRIU images (default: ./checkpoint)' };
const workPath: FlagDef = { type: 'string', describe: 'the directory of the CRIU log and work files (default: the image path)' };
const tcpEstablished: FlagDef = { type: 'boolean', describe: 'allow open TCP connections' };
const extUnixSk: FlagDef = { type: 'boolean', describe: 'allow external unix sockets' };
const shellJob: FlagDef = { type: 'boolean', describe: 'allow a shell job (a process on the caller\'s terminal)' };
const fileLocks: FlagDef = { type: 'boolean', describe: 'handle file locks' };
const cgroupsMode: FlagDef = { type: 'string', describe: 'how CRIU handles cgroups: soft, full, strict or ignore (default: soft)', choices: ['soft', 'full', 'strict', 'ignore'] };
const emptyNs: FlagDef = { type: 'array', describe: 'create this namespace (network), but do not restore its contents' };

export const commands: CommandDef[] = [
  {
    name: 'create',
    describe: 'create a container from a bundle (it waits for `start`)',
    positionals: [id],
    flags: {
      bundle,
      'pid-file': pidFile,
      'console-socket': consoleSocket,
      'no-pivot': noPivot,
      'no-new-keyring': noNewKeyring,
      'preserve-fds': preserveFds,
    },
  },
  {
    name: 'start',
    describe: 'run the user process of a created container',
    positionals: [id],
    flags: {},
  },
  {
    name: 'run',
    describe: 'create and start a container, and wait for it unless detached',
    positionals: [id],
    flags: {
      bundle,
      'pid-file': pidFile,
      'console-socket': consoleSocket,
      detach,
      'no-pivot': noPivot,
      'no-new-keyring': noNewKeyring,
      'preserve-fds': preserveFds,
      keep: { type: 'boolean', describe: 'do not delete the container after it exits' },
    },
  },
  {
    name: 'state',
    describe: 'print the state of a container as JSON',
    positionals: [id],
    flags: {},
  },
  {
    name: 'kill',
    describe: 'send a signal to the container process (default SIGTERM)',
    positionals: [id, { name: 'signal', required: false, describe: 'a number or a name: 9, KILL, SIGKILL' }],
    flags: {
      all: { type: 'boolean', alias: ['a'], describe: 'send the signal to every process in the container' },
    },
  },
  {
    name: 'delete',
    describe: 'delete a container and everything it holds',
    positionals: [id],
    flags: {
      force: { type: 'boolean', alias: ['f'], describe: 'kill the container first if it is running' },
    },
  },
  {
    name: 'exec',
    describe: 'run a process in a running container',
    positionals: [id],
    passThrough: true,
    restUsage: '[command] [args..]',
    flags: {
      process: { type: 'string', alias: ['p'], describe: 'a process.json with the whole process to run' },
      tty: { type: 'boolean', alias: ['t'], describe: 'allocate a pseudo-terminal' },
      'console-socket': consoleSocket,
      detach,
      'pid-file': pidFile,
      env: { type: 'array', alias: ['e'], describe: 'set an environment variable (NAME=value), repeatable' },
      cwd: { type: 'string', describe: 'the working directory, inside the container' },
      user: { type: 'string', alias: ['u'], describe: 'UID[:GID] to run as' },
      'additional-gids': { type: 'array', alias: ['g'], describe: 'an additional group id, repeatable' },
      cap: { type: 'array', alias: ['c'], describe: 'add a capability (CAP_…), repeatable' },
      'no-new-privs': { type: 'boolean', describe: 'set no_new_privileges for the process' },
      'preserve-fds': preserveFds,
      'process-label': { type: 'string', describe: 'SELinux label for the process' },
      apparmor: { type: 'string', describe: 'AppArmor profile for the process' },
      'ignore-paused': { type: 'boolean', describe: 'exec even if the container is paused' },
      cgroup: { type: 'array', describe: 'run in this existing sub-cgroup of the container ([controller[,controller]:]path), repeatable' },
    },
  },
  {
    name: 'ps',
    describe: 'list the processes of a container (JSON: host pids)',
    positionals: [id],
    passThrough: true,
    restUsage: '[ps-options..]',
    flags: {
      format: { type: 'string', alias: ['f'], describe: 'output format', choices: ['table', 'json'], default: 'table' },
    },
  },
  {
    name: 'pause',
    describe: 'freeze every process of a container',
    positionals: [id],
    flags: {},
  },
  {
    name: 'resume',
    describe: 'thaw a paused container',
    positionals: [id],
    flags: {},
  },
  {
    name: 'update',
    describe: 'change the resource limits of a running container',
    positionals: [id],
    flags: {
      resources: { type: 'string', alias: ['r'], describe: 'a JSON file with linux.resources, or - for stdin' },
      'blkio-weight': { type: 'number', describe: 'block IO weight, 10 to 1000' },
      'cpu-period': { type: 'number', describe: 'CPU CFS period in microseconds' },
      'cpu-quota': { type: 'number', describe: 'CPU CFS quota in microseconds (-1: none)' },
      'cpu-rt-period': { type: 'number', describe: 'CPU realtime period in microseconds' },
      'cpu-rt-runtime': { type: 'number', describe: 'CPU realtime runtime in microseconds' },
      'cpu-share': { type: 'number', alias: ['cpu-shares'], describe: 'CPU shares (relative weight)' },
      'cpu-idle': { type: 'number', describe: 'CPU idle (0 or 1, cgroup v2)' },
      'cpuset-cpus': { type: 'string', describe: 'CPUs to use (0-3, 0,1)' },
      'cpuset-mems': { type: 'string', describe: 'memory nodes to use' },
      memory: { type: 'string', describe: 'memory limit (bytes, or 512k, 64m, 1g; -1: none)' },
      'memory-reservation': { type: 'string', describe: 'memory soft limit' },
      'memory-swap': { type: 'string', describe: 'memory plus swap limit (-1: none)' },
      'kernel-memory': { type: 'string', describe: 'kernel memory limit (cgroup v1, deprecated)' },
      'kernel-memory-tcp': { type: 'string', describe: 'kernel TCP memory limit (cgroup v1, deprecated)' },
      'pids-limit': { type: 'number', describe: 'maximum number of processes (0 is a real limit; -1: none)' },
    },
  },
  {
    name: 'events',
    describe: 'print container events (stats, OOM) as JSON lines',
    positionals: [id],
    flags: {
      stats: { type: 'boolean', describe: 'print the resource statistics once and exit' },
      interval: { type: 'string', describe: 'how often to collect statistics (e.g. 5s, 500ms)', default: '5s' },
    },
  },
  {
    name: 'checkpoint',
    describe: 'save a running container with CRIU (it stops, unless --leave-running)',
    positionals: [id],
    flags: {
      'image-path': imagePath,
      'work-path': workPath,
      'parent-path': { type: 'string', describe: 'the images of a previous pre-dump, relative to the image path' },
      'leave-running': { type: 'boolean', describe: 'leave the container running after the checkpoint' },
      'tcp-established': tcpEstablished,
      'ext-unix-sk': extUnixSk,
      'shell-job': shellJob,
      'file-locks': fileLocks,
      'pre-dump': { type: 'boolean', describe: 'save the memory only, and leave the container running' },
      'manage-cgroups-mode': cgroupsMode,
      'empty-ns': emptyNs,
      'auto-dedup': { type: 'boolean', describe: 'deduplicate the memory images against the parent' },
    },
  },
  {
    name: 'restore',
    describe: 'start a container from the CRIU images of a checkpoint',
    positionals: [id],
    flags: {
      bundle,
      'image-path': imagePath,
      'work-path': workPath,
      detach,
      'pid-file': pidFile,
      'console-socket': consoleSocket,
      'tcp-established': tcpEstablished,
      'ext-unix-sk': extUnixSk,
      'shell-job': shellJob,
      'file-locks': fileLocks,
      'manage-cgroups-mode': cgroupsMode,
      'empty-ns': emptyNs,
      'auto-dedup': { type: 'boolean', describe: 'deduplicate the memory images while restoring' },
      // containerd's shim passes it on every restore; it names runc's subreaper for a foreground restore
      'no-subreaper': { type: 'boolean', describe: 'accepted for containerd: no subreaper is needed (the restored process is a child of tsrun-init)', ignored: true },
      'no-pivot': { type: 'boolean', describe: 'refused: CRIU switches the root itself, with pivot_root' },
      'lsm-profile': { type: 'string', describe: 'an LSM profile TYPE:NAME for the restored process (refused: no LSM here)' },
      'lsm-mount-context': { type: 'string', describe: 'an LSM mount context (refused: no LSM here)' },
    },
  },
  {
    name: 'list',
    describe: 'list the containers',
    aliases: ['ls'],
    positionals: [],
    flags: {
      format: { type: 'string', alias: ['f'], describe: 'output format', choices: ['table', 'json'], default: 'table' },
      quiet: { type: 'boolean', alias: ['q'], describe: 'print only the ids' },
    },
  },
  {
    name: 'spec',
    describe: 'write a default config.json into the bundle',
    positionals: [],
    flags: {
      bundle: { type: 'string', alias: ['b'], describe: 'path to the bundle directory', default: '.' },
      rootless: { type: 'boolean', describe: 'a config for a rootless container' },
    },
  },
  {
    name: 'features',
    describe: 'print what this runtime supports, as JSON (runtime-spec features.md)',
    positionals: [],
    flags: {},
  },
  {
    name: 'check',
    describe: 'print every problem in a bundle at once; exit 1 if there is any',
    positionals: [],
    flags: {
      bundle: { type: 'string', alias: ['b'], describe: 'path to the bundle directory', default: '.' },
    },
  },
];

export function findCommand(name: string): CommandDef | undefined {
  return commands.find((c) => c.name === name || (c.aliases ?? []).includes(name));
}

// config-linux.md#seccomp, basic: a filter is loaded and its actions apply.
import { check, parseStatus } from '../lib.mjs';

const ARCHES = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];

const denyMkdir = (extra = {}) => (c) => {
  c.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ARCHES,
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', ...extra }],
  };
};

check('config-linux.md#seccomp', 'a filter is loaded (Seccomp: 2 in /proc/self/status)', (t) => {
  const { out } = t.sh('cat /proc/self/status', denyMkdir());
  t.eq(parseStatus(out).Seccomp, '2', 'Seccomp mode');
});

check('config-linux.md#seccomp', 'SCMP_ACT_ERRNO fails the syscall with EPERM by default', (t) => {
  const { out } = t.sh('mkdir /tmp/conf-dir 2>&1; echo rc=$?; touch /tmp/conf-file && echo touch-ok', denyMkdir());
  t.ok(/Operation not permitted/.test(out) && out.includes('touch-ok'), 'mkdir was not refused with EPERM, or other calls were', { out });
});

check('config-linux.md#seccomp', 'errnoRet sets the errno of SCMP_ACT_ERRNO', (t) => {
  const { out } = t.sh('mkdir /tmp/conf-dir 2>&1; echo rc=$?', denyMkdir({ errnoRet: 13 }));
  t.ok(/Permission denied/.test(out), 'mkdir did not fail with EACCES (13)', { out });
});

check('config-linux.md#seccomp', 'defaultAction applies to the syscalls not listed (defaultErrnoRet)', (t) => {
  const { out } = t.sh('mkdir /tmp/conf-dir 2>&1; echo rc=$?', (c) => {
    // an allow list of what the shell needs; mkdir is not in it. With noNewPrivileges the
    // runtime loads the filter last, just before execve, so it needs little itself.
    c.process.noNewPrivileges = true;
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ARCHES,
      syscalls: [{ names: ALLOWED, action: 'SCMP_ACT_ALLOW' }],
    };
  });
  t.ok(/Function not implemented/.test(out), 'mkdir (not listed) did not fail with ENOSYS (38)', { out });
});

check('config-linux.md#seccomp', 'argument conditions select the calls (SCMP_CMP_EQ)', (t) => {
  // refuse kill() with signal 0 only: `kill -0 1` fails, `kill -CONT 1` works
  const { out } = t.sh('kill -0 1 2>&1; echo rc-a=$?; kill -CONT 1 && echo rc-b=0', (c) => {
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ARCHES,
      syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 0, op: 'SCMP_CMP_EQ' }] }],
    };
  });
  t.ok(/rc-a=1/.test(out) && out.includes('rc-b=0'), 'the argument condition was not applied', { out });
});

check('config-linux.md#seccomp', 'the filter applies to a non-root user without noNewPrivileges', (t) => {
  // the runtime must load it while it still may (before dropping capabilities)
  const { out } = t.sh('mkdir /tmp/conf-dir 2>&1; echo rc=$?; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status', (c) => {
    denyMkdir()(c);
    c.process.user = { uid: 1000, gid: 1000 };
    c.process.noNewPrivileges = false;
  });
  t.ok(/Operation not permitted/.test(out) && /Seccomp:\s+2/.test(out) && /NoNewPrivs:\s+0/.test(out),
    'mkdir was not refused, or no_new_privs was set', { out });
});

// what busybox sh, mkdir, echo and cat need (x86_64 names; extra names are harmless)
const ALLOWED = [
  'read', 'write', 'open', 'openat', 'close', 'stat', 'fstat', 'lstat', 'newfstatat', 'statx', 'poll', 'lseek', 'mmap',
  'mprotect', 'munmap', 'brk', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'ioctl', 'pread64', 'pwrite64', 'readv',
  'writev', 'access', 'pipe', 'pipe2', 'select', 'sched_yield', 'dup', 'dup2', 'dup3', 'getpid', 'clone', 'clone3', 'fork',
  'vfork', 'execve', 'execveat', 'exit', 'exit_group', 'wait4', 'waitid', 'kill', 'uname', 'fcntl', 'getcwd', 'chdir',
  'getuid', 'getgid', 'geteuid', 'getegid', 'getppid', 'getpgrp', 'setpgid', 'getgroups', 'arch_prctl', 'prctl',
  'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'getrlimit', 'futex', 'getdents64', 'readlink',
  'readlinkat', 'faccessat', 'faccessat2', 'umask', 'gettid', 'tgkill', 'sigaltstack', 'nanosleep', 'clock_nanosleep',
  'clock_gettime', 'gettimeofday', 'time', 'getrandom', 'sysinfo', 'getpgid', 'getsid', 'setsid', 'capget', 'capset',
  'setuid', 'setgid', 'setgroups', 'setresuid', 'setresgid', 'mremap', 'madvise', 'membarrier', 'statfs', 'fstatfs',
  'close_range', 'sendmsg', 'recvmsg', 'sendto', 'recvfrom', 'socket', 'connect', 'fchdir', 'fchown', 'fchmod',
  'epoll_create1', 'epoll_ctl', 'epoll_pwait', 'epoll_wait', 'eventfd2', 'sigaltstack', 'getdents', 'seccomp',
];

check('runtime.md#lifecycle', 'a filter that refuses getcwd still runs the program (the runtime must not need it)', (t) => {
  // runtime-tools' linux_seccomp does this; runc 1.1.5 fails it ("failed to verify if current working
  // directory is safe"). Without noNewPrivileges the filter is in force for the runtime's last steps.
  const { out } = t.sh('echo ran', (c) => {
    c.process.noNewPrivileges = false;
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ARCHES, syscalls: [{ names: ['getcwd'], action: 'SCMP_ACT_ERRNO' }] };
  });
  t.eq(out.trim(), 'ran', 'output');
});

check('runtime.md#lifecycle', 'a default-deny profile of the usual kind (no faccessat2, close_range, clone3) runs the program', (t) => {
  // step 8: the runtime MUST run the program. Without noNewPrivileges the filter is loaded before the
  // runtime's last steps (credentials, finding args[0], closing fds), which must live with it too.
  const { out } = t.sh('echo ran', (c) => {
    c.process.noNewPrivileges = false;
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ARCHES,
      syscalls: [{ names: USUAL_PROFILE, action: 'SCMP_ACT_ALLOW' }],
    };
  });
  t.eq(out.trim(), 'ran', 'output');
});

// an allow list of the kind engines use by default (older than faccessat2, close_range, clone3, openat2)
const USUAL_PROFILE = [
  'accept', 'accept4', 'access', 'alarm', 'arch_prctl', 'bind', 'brk', 'capget', 'capset', 'chdir', 'chmod', 'chown',
  'chroot', 'clock_getres', 'clock_gettime', 'clock_nanosleep', 'close', 'connect', 'copy_file_range', 'creat',
  'dup', 'dup2', 'dup3', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_wait',
  'epoll_wait_old', 'eventfd', 'eventfd2', 'execve', 'execveat', 'exit', 'exit_group', 'faccessat', 'fadvise64',
  'fallocate', 'fanotify_mark', 'fchdir', 'fchmod', 'fchmodat', 'fchown', 'fchownat', 'fcntl', 'fcntl64',
  'fdatasync', 'fgetxattr', 'flistxattr', 'flock', 'fork', 'fremovexattr', 'fsetxattr', 'fstat', 'fstatfs', 'fsync',
  'ftruncate', 'futex', 'futimesat', 'get_robust_list', 'get_thread_area', 'getcpu', 'getcwd', 'getdents',
  'getdents64', 'getegid', 'geteuid', 'getgid', 'getgroups', 'getitimer', 'getpeername', 'getpgid', 'getpgrp',
  'getpid', 'getppid', 'getpriority', 'getrandom', 'getresgid', 'getresuid', 'getrlimit', 'getrusage', 'getsid',
  'getsockname', 'getsockopt', 'gettid', 'gettimeofday', 'getuid', 'getxattr', 'inotify_add_watch', 'inotify_init',
  'inotify_init1', 'inotify_rm_watch', 'io_cancel', 'io_destroy', 'io_getevents', 'io_setup', 'io_submit', 'ioctl',
  'ioprio_get', 'ioprio_set', 'ipc', 'kill', 'landlock_add_rule', 'landlock_create_ruleset',
  'landlock_restrict_self', 'lchown', 'lgetxattr', 'link', 'linkat', 'listen', 'listxattr', 'llistxattr',
  'lremovexattr', 'lseek', 'lsetxattr', 'lstat', 'madvise', 'memfd_create', 'mincore', 'mkdir', 'mkdirat', 'mknod',
  'mknodat', 'mlock', 'mlock2', 'mlockall', 'mmap', 'mmap2', 'modify_ldt', 'mprotect', 'mq_getsetattr', 'mq_notify',
  'mq_open', 'mq_timedreceive', 'mq_timedsend', 'mq_unlink', 'mremap', 'msgctl', 'msgget', 'msgrcv', 'msgsnd',
  'msync', 'munlock', 'munlockall', 'munmap', 'nanosleep', 'newfstatat', 'open', 'openat', 'pause', 'pipe', 'pipe2',
  'poll', 'ppoll', 'prctl', 'pread64', 'preadv', 'prlimit64', 'pselect6', 'pwrite64', 'pwritev', 'read', 'readahead',
  'readlink', 'readlinkat', 'readv', 'recv', 'recvfrom', 'recvmmsg', 'recvmsg', 'remap_file_pages', 'removexattr',
  'rename', 'renameat', 'renameat2', 'restart_syscall', 'rmdir', 'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask',
  'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_tgsigqueueinfo',
  'sched_get_priority_max', 'sched_get_priority_min', 'sched_getaffinity', 'sched_getattr', 'sched_getparam',
  'sched_getscheduler', 'sched_rr_get_interval', 'sched_setaffinity', 'sched_setattr', 'sched_setparam',
  'sched_setscheduler', 'sched_yield', 'seccomp', 'select', 'semctl', 'semget', 'semop', 'semtimedop', 'send',
  'sendfile', 'sendmmsg', 'sendmsg', 'sendto', 'set_robust_list', 'set_thread_area', 'set_tid_address', 'setfsgid',
  'setfsuid', 'setgid', 'setgroups', 'setitimer', 'setpgid', 'setpriority', 'setregid', 'setresgid', 'setresuid',
  'setreuid', 'setrlimit', 'setsid', 'setsockopt', 'setuid', 'setxattr', 'shmat', 'shmctl', 'shmdt', 'shmget',
  'shutdown', 'sigaltstack', 'signalfd', 'signalfd4', 'sigreturn', 'socket', 'socketcall', 'socketpair', 'splice',
  'stat', 'statfs', 'statx', 'symlink', 'symlinkat', 'sync', 'sync_file_range', 'syncfs', 'sysinfo', 'syslog', 'tee',
  'tgkill', 'time', 'timer_create', 'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_settime',
  'timerfd_create', 'timerfd_gettime', 'timerfd_settime', 'times', 'tkill', 'truncate', 'ugetrlimit', 'umask',
  'uname', 'unlink', 'unlinkat', 'utime', 'utimensat', 'utimes', 'vfork', 'vmsplice', 'wait4', 'waitid', 'waitpid',
  'write', 'writev',
];

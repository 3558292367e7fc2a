// The one errno table of the TypeScript side: number, name and text. The text is glibc's strerror(), lower-cased
// as the native init words it (native/util.c errstr) and as Go's runc does: engines match "permission denied" and
// "no such file or directory" in a runtime's messages. (The libc-free launcher, native/launcher.c, has no
// strerror and names the few errors an execve gives; any other by number.)

export const ERRNO_TABLE: readonly [number, string, string][] = [
  [1, 'EPERM', 'operation not permitted'],
  [2, 'ENOENT', 'no such file or directory'],
  [3, 'ESRCH', 'no such process'],
  [5, 'EIO', 'input/output error'],
  [6, 'ENXIO', 'no such device or address'],
  [7, 'E2BIG', 'argument list too long'],
  [9, 'EBADF', 'bad file descriptor'],
  [11, 'EAGAIN', 'resource temporarily unavailable'],
  [12, 'ENOMEM', 'cannot allocate memory'],
  [13, 'EACCES', 'permission denied'],
  [14, 'EFAULT', 'bad address'],
  [16, 'EBUSY', 'device or resource busy'],
  [17, 'EEXIST', 'file exists'],
  [18, 'EXDEV', 'invalid cross-device link'],
  [19, 'ENODEV', 'no such device'],
  [20, 'ENOTDIR', 'not a directory'],
  [21, 'EISDIR', 'is a directory'],
  [22, 'EINVAL', 'invalid argument'],
  [24, 'EMFILE', 'too many open files'],
  [28, 'ENOSPC', 'no space left on device'],
  [30, 'EROFS', 'read-only file system'],
  [34, 'ERANGE', 'numerical result out of range'],
  [36, 'ENAMETOOLONG', 'file name too long'],
  [38, 'ENOSYS', 'function not implemented'],
  [39, 'ENOTEMPTY', 'directory not empty'],
  [40, 'ELOOP', 'too many levels of symbolic links'],
  [95, 'EOPNOTSUPP', 'operation not supported'],
];

const BY_NAME = new Map<string, string>(ERRNO_TABLE.map(([, name, text]) => [name, text]));
BY_NAME.set('ENOTSUP', 'operation not supported'); // Node's name for 95 on some paths
BY_NAME.set('EWOULDBLOCK', 'resource temporarily unavailable');

/** The name of an errno number ("ENOENT"), or undefined when the table lacks it. */
export function errnoName(n: number): string | undefined {
  return ERRNO_TABLE.find(([num]) => num === n)?.[1];
}

/** The text of an errno name ("no such file or directory"), or undefined when the table lacks it. */
export function errnoText(name: string): string | undefined {
  return BY_NAME.get(name);
}

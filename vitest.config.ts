import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node', setupFiles: ['test/setup-lazy.ts'] },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          setupFiles: ['test/setup-lazy.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // containerd, podman and dockerd driving bin/tsrun (root; make engines-deps installs them)
        test: {
          name: 'engines',
          include: ['test/engines/**/*.test.ts'],
          setupFiles: ['test/setup-lazy.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // a real systemd in its own namespaces (test/systemd/lab.ts), for --systemd-cgroup (root)
        test: {
          name: 'systemd',
          include: ['test/systemd/**/*.test.ts'],
          setupFiles: ['test/setup-lazy.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 150_000,
        },
      },
      {
        // a real user who is not root, made by the tests (test/rootless/user.ts), tsrun beside runc (root to set up)
        test: {
          name: 'rootless',
          include: ['test/rootless/**/*.test.ts'],
          setupFiles: ['test/setup-lazy.ts'],
          environment: 'node',
          fileParallelism: false,
          // the same files run under User-Mode Linux (test/rootless/run-v2.sh), where each call is ~1.5 s
          testTimeout: process.env.CGV2_VM ? 300_000 : 60_000,
          hookTimeout: process.env.CGV2_VM ? 600_000 : 60_000,
        },
      },
    ],
  },
});

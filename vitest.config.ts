import { defineConfig } from 'vitest/config';

// Two projects: fast unit/HTTP/property tests, and end-to-end tests that start a real
// etcd + kube-apiserver + kube-scheduler (and touch real LVM on loop devices as root).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'test/lvm/**', 'node_modules/**'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/lvm/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          // One control plane at a time on a 2-core machine.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});

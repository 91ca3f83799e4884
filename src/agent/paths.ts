// Which configured device paths may ever reach a command line. Pure.
//
// Commands never go through a shell (agent/adapters/lvm/runner.ts), so metacharacters could not be interpreted; they
// are refused anyway because no real device path has them, and a path that has them is a typo or an attack.

export type PathCheck =
  | { kind: 'ok' }
  | { kind: 'refused'; reason: 'PathNotAbsolute' | 'PathUnsafe'; message: string };

const PATH_OK: PathCheck = Object.freeze({ kind: 'ok' });

/** Characters real device paths use (/dev/sdb, /dev/disk/by-path/pci-0000:00:1f.2-ata-1, /dev/mapper/vg-lv+x). */
const SAFE_PATH = /^[A-Za-z0-9/._:+@,=-]+$/;
export const MAX_DEVICE_PATH_LENGTH = 4096;

/** A device path is accepted only if absolute, in normal form (no '.', '..' or empty segments) and of safe characters. */
export function checkDevicePath(path: string): PathCheck {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    return { kind: 'refused', reason: 'PathNotAbsolute', message: `device path ${JSON.stringify(path)} is not absolute` };
  }
  if (path.length > MAX_DEVICE_PATH_LENGTH) {
    return { kind: 'refused', reason: 'PathUnsafe', message: `device path is longer than ${MAX_DEVICE_PATH_LENGTH} characters` };
  }
  if (!SAFE_PATH.test(path)) {
    return { kind: 'refused', reason: 'PathUnsafe', message: `device path ${JSON.stringify(path)} has characters outside [A-Za-z0-9/._:+@,=-]` };
  }
  const segments = path.slice(1).split('/');
  if (path === '/' || segments.some((s) => s === '' || s === '.' || s === '..')) {
    return { kind: 'refused', reason: 'PathUnsafe', message: `device path ${JSON.stringify(path)} is not in normal form (empty, '.' or '..' segment)` };
  }
  return PATH_OK;
}

// A writer for the "newc" cpio format (SVR4 with no CRC), the format the Linux kernel unpacks
// as an initramfs. Archives may be concatenated: the kernel unpacks each in turn, which lets a
// cached base archive take a small per-run archive appended to it.

import { VmSetupError } from './vm-errors.js';

export interface CpioEntry {
  /** Path inside the archive, without a leading slash (e.g. "bin/busybox"). */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'chardev';
  /** Permission bits (e.g. 0o755). */
  mode: number;
  /** File contents, or the symlink target. Ignored for directories. */
  data?: Buffer | string;
  /** Device numbers of a character device, e.g. [5, 1] for /dev/console. */
  rdev?: readonly [major: number, minor: number];
}

const C_ISDIR = 0o040000;
const C_ISREG = 0o100000;
const C_ISLNK = 0o120000;
const C_ISCHR = 0o020000;
const TRAILER = 'TRAILER!!!';

function typeBits(type: CpioEntry['type']): number {
  switch (type) {
    case 'dir':
      return C_ISDIR;
    case 'symlink':
      return C_ISLNK;
    case 'file':
      return C_ISREG;
    case 'chardev':
      return C_ISCHR;
  }
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/** Zero bytes that bring `length` up to the next multiple of four. */
function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function record(
  ino: number,
  mode: number,
  nlink: number,
  name: string,
  data: Buffer,
  rdev: readonly [number, number] = [0, 0],
): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const header = Buffer.from(
    '070701' +
      [
        ino,
        mode,
        0, // uid
        0, // gid
        nlink,
        0, // mtime: fixed, so that the same inputs give the same archive
        data.length,
        0, // devmajor
        0, // devminor
        rdev[0],
        rdev[1],
        nameBytes.length,
        0, // check
      ]
        .map(hex8)
        .join(''),
    'ascii',
  );
  // The header is 110 bytes; the name is padded so that the data starts on a 4-byte boundary,
  // and the data so that the next header does.
  return [header, nameBytes, pad4(header.length + nameBytes.length), data, pad4(data.length)];
}

/** One complete newc archive (ending in its trailer) holding `entries` in order. */
export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((entry, index) => {
    const data = entry.type === 'dir' || entry.type === 'chardev' ? Buffer.alloc(0) : Buffer.from(entry.data ?? '');
    const name = entry.path.replace(/^\/+/, '');
    if (name === '' || name === TRAILER) throw new VmSetupError(`invalid cpio entry path: ${JSON.stringify(entry.path)}`);
    const mode = typeBits(entry.type) | (entry.mode & 0o7777);
    parts.push(...record(index + 1, mode, entry.type === 'dir' ? 2 : 1, name, data, entry.rdev));
  });
  parts.push(...record(0, 0, 1, TRAILER, Buffer.alloc(0)));
  return Buffer.concat(parts);
}

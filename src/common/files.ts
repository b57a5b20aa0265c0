/** Reading files that may be gone or unreadable (a process's /proc entries end with it). */
import { readFileSync, readlinkSync } from 'node:fs';

/** The target of the link at `path`, or null when it cannot be read. */
export function safeReadlink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/** The text of the file at `path`, or null when it cannot be read. */
export function safeReadFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

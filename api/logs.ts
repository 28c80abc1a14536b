// Instance logs as the API serves them: the tail of <data dir>/logs/<set>-<ordinal>.log, the file the
// process driver appends each incarnation's output to. The API reads it from the data directory it
// shares with the worker (the production shape on one host). Only that folder is ever read: the name
// is built from a validated set name and ordinal, checked to stay inside it, and opened without
// following symbolic links, as a regular file only.
import fs from 'node:fs';
import path from 'node:path';

export const DEFAULT_TAIL_LINES = 200;
export const MAX_TAIL_LINES = 10_000;
/** At most this much of a log's end is read, however long its lines. */
export const MAX_TAIL_BYTES = 4 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

/** The log file of an instance, or undefined when the name would leave the logs folder. */
export function instanceLogPath(logsDir: string, set: string, ordinal: number): string | undefined {
  const file = path.resolve(logsDir, `${set}-${ordinal}.log`);
  const relative = path.relative(path.resolve(logsDir), file);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative) || relative.includes(path.sep)) return undefined;
  return file;
}

/**
 * The last `lines` lines of the instance's log (all of it when shorter, at most MAX_TAIL_BYTES), or
 * undefined when there is no such log: never written, not a regular file, or a symbolic link.
 */
export async function readLogTail(logsDir: string, set: string, ordinal: number, lines: number): Promise<string | undefined> {
  const file = instanceLogPath(logsDir, set, ordinal);
  if (file === undefined) return undefined;
  let handle: fs.promises.FileHandle;
  try {
    // O_NONBLOCK: a FIFO planted there must not hang the request; it is refused below as not a file.
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENXIO') return undefined;
    throw err;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return undefined;
    if (lines <= 0) return '';
    return await tail(handle, stat.size, lines);
  } finally {
    await handle.close();
  }
}

/** Reads backwards in chunks until it has more than `lines` line ends, the start, or MAX_TAIL_BYTES. */
async function tail(handle: fs.promises.FileHandle, size: number, lines: number): Promise<string> {
  const chunks: Buffer[] = [];
  let position = size;
  let newlines = 0;
  let read = 0;
  // One more line end than lines: the one before the first line kept (a final line end starts no line).
  while (position > 0 && newlines <= lines && read < MAX_TAIL_BYTES) {
    const length = Math.min(CHUNK_BYTES, position, MAX_TAIL_BYTES - read);
    position -= length;
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    const chunk = buffer.subarray(0, bytesRead);
    chunks.unshift(chunk);
    read += bytesRead;
    for (const byte of chunk) if (byte === 0x0a) newlines++;
    if (bytesRead < length) break; // truncated while we read
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const endsWithNewline = text.endsWith('\n');
  const all = (endsWithNewline ? text.slice(0, -1) : text).split('\n');
  // A read that did not reach the start begins inside a line: that partial line is not shown.
  if (position > 0) all.shift();
  const kept = all.slice(-lines);
  if (kept.length === 0 || (kept.length === 1 && kept[0] === '' && !endsWithNewline)) return '';
  return kept.join('\n') + (endsWithNewline ? '\n' : '');
}

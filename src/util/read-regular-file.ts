import { constants as fsConstants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { AppError } from '../errors.js';

/**
 * Reads a regular file whole, at most `maxBytes` of it. Guarantees: a FIFO, a device (/dev/zero)
 * or a directory is refused before anything is read (checked by path, then again on the open
 * file, which is opened without blocking), and no more than `maxBytes + 1` bytes are ever held.
 * Every failure is a `bad-request` AppError whose detail names the file as `shown`.
 */
export async function readRegularFile(path: string, options: { readonly what: string; readonly shown: string; readonly maxBytes: number; readonly tooLarge: string }): Promise<Buffer> {
  const { what, shown, maxBytes } = options;
  const cannot = (cause: unknown): AppError => new AppError('bad-request', `cannot read the ${what} file ${shown}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  const notRegular = (): AppError => new AppError('bad-request', `the ${what} file ${shown} is not a regular file`);
  const tooLarge = (): AppError => new AppError('bad-request', `the ${what} file ${shown} is larger than ${options.tooLarge}`);
  try {
    // stat first: opening a FIFO would block, and a device never ends.
    if (!(await stat(path)).isFile()) throw notRegular();
  } catch (error) {
    throw error instanceof AppError ? error : cannot(error);
  }
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (cause) {
    throw cannot(cause);
  }
  try {
    // Again on the open file: the path may have been swapped since the stat.
    const info = await handle.stat();
    if (!info.isFile()) throw notRegular();
    if (info.size > maxBytes) throw tooLarge();
    const buffer = Buffer.alloc(Math.min(maxBytes + 1, info.size + 1));
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    // The file grew after the stat: read on only to learn whether it passed the cap.
    if (length === buffer.length && length <= maxBytes) {
      const more = Buffer.alloc(Math.min(maxBytes + 1, 1024 * 1024));
      const chunks = [buffer.subarray(0, length)];
      for (;;) {
        const { bytesRead } = await handle.read(more, 0, more.length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length > maxBytes) throw tooLarge();
        chunks.push(Buffer.from(more.subarray(0, bytesRead)));
      }
      return Buffer.concat(chunks, length);
    }
    if (length > maxBytes) throw tooLarge();
    return buffer.subarray(0, length);
  } catch (error) {
    throw error instanceof AppError ? error : cannot(error);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

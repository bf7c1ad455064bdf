/** A data directory as it is on disk, to show that a repeated delivery or backfill changed nothing. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

export interface StoredFile {
  readonly text: string;
  /** Modification time: equal when the file was not written again, even with the same bytes. */
  readonly mtimeMs: number;
}

/** Every file under `dir` by path relative to it (forward slashes, as store keys). */
export async function storeSnapshot(dir: string): Promise<Record<string, StoredFile>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: Record<string, StoredFile> = {};
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const key = relative(dir, path).split('\\').join('/');
    files[key] = { text: await readFile(path, 'utf8'), mtimeMs: (await stat(path)).mtimeMs };
  }
  return files;
}

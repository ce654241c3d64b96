/**
 * Finding model files in a library tree, with the sidecars and previews that sit next to them.
 * Directory symlinks are not followed (no loops, no escapes); file symlinks are resolved and kept only when the
 * target is inside a library root.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isInside } from '../library-paths.ts';

export const MODEL_EXTENSIONS = ['.safetensors', '.ckpt', '.pt', '.pth', '.bin', '.sft', '.gguf'] as const;
const PREVIEW_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];

export interface FoundFile {
  /** Real path. */
  path: string;
  dir: string;
  fileName: string;
  /** File name without the model extension. */
  stem: string;
  size: number;
  mtimeMs: number;
  /** Folder names from the root down to the file (for inferring the model type). */
  folders: string[];
  /** Other file names in the same directory (sidecars, previews). */
  siblings: ReadonlySet<string>;
}

export interface WalkProblem {
  path: string;
  message: string;
}

export function modelExtension(fileName: string): string | null {
  const lower = fileName.toLowerCase();
  return MODEL_EXTENSIONS.find((ext) => lower.endsWith(ext)) ?? null;
}

/** `<stem>.preview.png|jpg|jpeg|webp`, then `<stem>.png|…` (case-insensitive). */
export function previewFor(file: Pick<FoundFile, 'dir' | 'stem' | 'siblings'>): string | null {
  const byLower = new Map([...file.siblings].map((name) => [name.toLowerCase(), name]));
  for (const infix of ['.preview', '']) {
    for (const ext of PREVIEW_EXTENSIONS) {
      const name = byLower.get(`${file.stem}${infix}${ext}`.toLowerCase());
      if (name) return path.join(file.dir, name);
    }
  }
  return null;
}

/** A sidecar `<stem><suffix>` if present (case-insensitive). */
export function sidecarFor(file: Pick<FoundFile, 'dir' | 'stem' | 'siblings'>, suffix: string): string | null {
  const wanted = `${file.stem}${suffix}`.toLowerCase();
  const name = [...file.siblings].find((sibling) => sibling.toLowerCase() === wanted);
  return name ? path.join(file.dir, name) : null;
}

/** Walks one root; model files and problems (unreadable folders, links leaving the roots) are reported. */
export async function walkLibrary(root: string, allowedRoots: readonly string[]): Promise<{ files: FoundFile[]; problems: WalkProblem[] }> {
  const files: FoundFile[] = [];
  const problems: WalkProblem[] = [];
  async function visit(dir: string, folders: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      problems.push({ path: dir, message: (error as Error).message });
      return;
    }
    const siblings = new Set(entries.map((e) => e.name));
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await visit(full, [...folders, entry.name]);
        continue;
      }
      const extension = modelExtension(entry.name);
      if (!extension || !(entry.isFile() || entry.isSymbolicLink())) continue;
      try {
        let real = full;
        if (entry.isSymbolicLink()) {
          real = await realpath(full);
          if (!allowedRoots.some((r) => isInside(r, real))) {
            problems.push({ path: full, message: 'symbolic link to a file outside the library roots: skipped' });
            continue;
          }
          if (!(await stat(real)).isFile()) continue;
        }
        const info = await lstat(real);
        files.push({
          path: real, dir, fileName: entry.name, stem: entry.name.slice(0, -extension.length), size: info.size, mtimeMs: info.mtimeMs,
          folders, siblings,
        });
      } catch (error) {
        problems.push({ path: full, message: (error as Error).message });
      }
    }
  }
  await visit(root, []);
  return { files, problems };
}

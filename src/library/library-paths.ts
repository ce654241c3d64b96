/**
 * The server touches the file system only inside the configured library roots (DIFFUSION_NEXUS_LIBRARY_ROOTS).
 * A path must be absolute, free of NUL bytes, inside a root as written *and* after resolving symlinks — so
 * `..` tricks and links pointing out of a root are both refused.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.ts';

export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

function shown(input: string): string {
  return JSON.stringify(input.length > 200 ? `${input.slice(0, 200)}…` : input);
}

/** Validates a path against the roots; returns its real (symlink-free) form. `kind` is what must be there. */
export async function resolveLibraryPath(
  input: string,
  roots: readonly string[],
  kind: 'file' | 'directory',
): Promise<string> {
  if (input.includes('\0')) throw new AppError('BAD_USER_INPUT', 'Paths must not contain NUL bytes.');
  if (!path.isAbsolute(input)) throw new AppError('BAD_USER_INPUT', `${shown(input)} is not an absolute path.`);
  if (roots.length === 0) {
    throw new AppError(
      'FORBIDDEN',
      'No library roots are configured: set DIFFUSION_NEXUS_LIBRARY_ROOTS to the folders the server may use.',
    );
  }
  const lexical = path.resolve(input);
  const realRoots = await Promise.all(roots.map((root) => realpath(root).catch(() => path.resolve(root))));
  if (!roots.some((root, i) => isInside(path.resolve(root), lexical) || isInside(realRoots[i]!, lexical))) {
    throw new AppError('FORBIDDEN', `${shown(input)} is outside the library roots (${roots.join(', ')}).`);
  }
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    throw new AppError('NOT_FOUND', `${shown(input)} does not exist.`);
  }
  if (!realRoots.some((root) => isInside(root, real))) {
    throw new AppError('FORBIDDEN', `${shown(input)} leads outside the library roots through a symbolic link.`);
  }
  const info = await stat(real);
  if (kind === 'file' ? !info.isFile() : !info.isDirectory())
    throw new AppError('BAD_USER_INPUT', `${shown(input)} is not a ${kind}.`);
  return real;
}

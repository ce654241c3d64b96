/**
 * Thumbnail facts computed from the bytes: the MIME type (the stored `ThumbnailMimeType` can be wrong — rows
 * written by older tools say `image/jpeg` for WebP), a strong ETag, and data URIs.
 */
import { createHash } from 'node:crypto';

export interface ThumbnailMeta {
  imageId: number;
  byteSize: number;
  width: number | null;
  height: number | null;
  storedMimeType: string | null;
  /** The image's BlurHash (Civitai's, or computed when a thumbnail was made here): a placeholder for either. */
  blurHash: string | null;
}

/** Enough leading bytes for every signature below. */
export const SNIFF_BYTES = 16;

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  return signature.every((byte, i) => bytes[offset + i] === byte);
}

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/** The image type the bytes actually are, or null when they are no image format we know. */
export function sniffImageMimeType(bytes: Uint8Array): string | null {
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'image/webp';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'image/gif';
  if (
    startsWith(bytes, ascii('ftyp'), 4) &&
    (startsWith(bytes, ascii('avif'), 8) || startsWith(bytes, ascii('avis'), 8))
  )
    return 'image/avif';
  return null;
}

/** Sniffed type, else the stored one, else a generic binary type. */
export function effectiveMimeType(bytes: Uint8Array, stored: string | null): string {
  return sniffImageMimeType(bytes) ?? stored ?? 'application/octet-stream';
}

/** A strong validator derived from the content, so any change of bytes changes it. */
export function thumbnailEtag(bytes: Uint8Array): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 32)}"`;
}

/** RFC 9110 If-None-Match: `*` or a list of (possibly weak) entity tags compared weakly. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .includes(etag);
}

export function base64Length(byteSize: number): number {
  return Math.ceil(byteSize / 3) * 4;
}

export const THUMBNAIL_PATH_PREFIX = '/thumbnails/';

export function thumbnailPath(imageId: number): string {
  return `${THUMBNAIL_PATH_PREFIX}${imageId}`;
}

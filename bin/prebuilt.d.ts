// Types of bin/prebuilt.js (plain JavaScript, so that it runs before any type stripping).

export const SOURCES_FILE: string;
export const PREBUILT_ENTRY: string;
/** What `npm run build:cli` writes to SOURCES_FILE: each source as [path from Herald's folder, size, mtimeMs, sha256 hex]. */
export interface SourcesManifest {
  sources: Array<[file: string, size: number, mtimeMs: number, sha256: string]>;
}
export function prebuiltEntry(root?: string): string | undefined;

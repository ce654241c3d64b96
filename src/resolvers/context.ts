import type { QueryLimits } from '../catalog/query-limits.ts';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import type { RequestScope } from '../db/request-scope.ts';
import type { Loaders } from '../loaders/index.ts';
import type { CivitaiClient } from '../civitai/client.ts';
import type { ScanJobs } from '../library/scan-jobs.ts';
import type { DownloadQueue } from '../downloads/queue.ts';
import type { CatalogChanges } from '../catalog/live-changes.ts';

/** The server's download queue, and what it works on: the catalog itself (jobs outlive the request that adds them). */
export interface DownloadService {
  queue: DownloadQueue;
  db: CatalogDatabase;
  /** Sidecars when a request does not say (DIFFUSION_NEXUS_DOWNLOAD_SIDECARS). */
  sidecars: boolean;
}

/** Settings resolvers need, fixed at start-up. */
export interface ResolverSettings {
  libraryRoots: readonly string[];
  maxThumbnailUploadBytes: number;
  /** Longest side of thumbnails made here. */
  thumbnailSide: number;
  queryLimits: QueryLimits;
}

/** What every resolver receives. Built per request by the server. */
export interface GraphQLContext {
  /** The catalog as this request sees it: statements stop once the request is no longer wanted. */
  db: CatalogDatabase;
  /** The request's time limit, client and work budget; its `signal` aborts when the client goes (ends subscriptions). */
  scope: RequestScope;
  loaders: Loaders;
  /** `http://host:port` from the request's Host header (for absolute URLs), or null when absent or unusable. */
  origin: string | null;
  /** Whether this request may run mutations (no API token configured, or the right Bearer token sent). */
  canWrite: boolean;
  civitai: CivitaiClient;
  settings: ResolverSettings;
  /** Background library scans (one registry per server). */
  scanJobs: ScanJobs;
  /** The request's id (x-request-id), recorded with the changes it makes. */
  requestId: string | null;
  downloads: DownloadService;
  /** Live catalog changes (one watcher per server). */
  catalogChanges: CatalogChanges;
}

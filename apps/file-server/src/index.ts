/**
 * file-server: a static HTTP/1.1 file server on @overlapped/socket and
 * @overlapped/file. The command line (cli.ts) is a thin layer over
 * {@link createFileServer}.
 *
 * @packageDocumentation
 */
export { sendBody } from './body.js';
export { entityTag, lastModified, noneMatchHits, parseRange, select } from './conditional.js';
export type { RangeRequest, Representation, Selection } from './conditional.js';
export { contentType } from './content-type.js';
export { connectionField, currentHttpDate, MAX_DISCARDED_BODY, parseRequestHead, REASONS, responseHead } from './http.js';
export type { HeadLimits, ParseResult, RequestHead } from './http.js';
export { OpenFileCache } from './open-files.js';
export type { CachedFile, FileIdentity, FileSource, Identity, OpenedFile, OpenFileCounters } from './open-files.js';
export { resolveFileServerOptions } from './options.js';
export type { FileServerOptions, ResolvedOptions, ResponseLogEntry } from './options.js';
export { isInside, targetSegments } from './paths.js';
export type { TargetResult } from './paths.js';
export { createFileServer } from './server.js';
export type { FileServer, FileServerCounters } from './server.js';

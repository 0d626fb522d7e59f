/**
 * The native file op kinds and the encodings they share with the native
 * core, from the op table (@overlapped/common).
 */
export { DISPOSITIONS, FileOpKinds, MAX_TRANSFER, OPEN_BITS as OpenBits, SHARE_BITS, STAT_FIELDS } from '@overlapped/common';

/** Buffers one vectored op takes at most (IOV_MAX). */
export const MAX_VECTORS = 1024;

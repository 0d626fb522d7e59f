// The suite in the Windows node.exe under Wine (iocp), on node:test: the
// testkit's windows/run.mjs imports this module (--extra) and calls
// `defineSuites` with its counting describe/it. Built with
// tsconfig.windows.json by scripts/windows-suite.mjs.
import { after, before } from 'node:test';

import type { BackendName } from '@overlapped/common';

import { defineFileServerSuite } from './suite.js';

/** Bytes of the large download under Wine: each send is a wineserver round trip, so 32 MiB rather than 1 GiB. */
export const WINE_LARGE_SIZE = 32 * 1024 * 1024;

interface CountedApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void> | void, timeoutMs?: number): void;
}

export function defineSuites(api: CountedApi, backend: BackendName): void {
  defineFileServerSuite(
    {
      describe: api.describe,
      it: api.it,
      beforeAll: (body, timeout) => before(body, { timeout }),
      afterAll: (body, timeout) => after(body, { timeout }),
    },
    backend,
    { largeSize: WINE_LARGE_SIZE },
  );
}

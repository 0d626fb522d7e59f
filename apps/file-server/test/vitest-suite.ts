// The suite on vitest: a backend that cannot run here is skipped, and says why.
import type { BackendName } from '@overlapped/common';
import { afterAll, beforeAll, describe, it } from 'vitest';

import { backendRuns, defineFileServerSuite, type SuiteOptions } from './suite.js';

export function defineOnVitest(backend: BackendName, options: SuiteOptions): void {
  const runs = backendRuns(backend);
  if (!runs.runs) {
    describe.skip(`[${backend}] skipped: ${runs.reason}`, () => it('backend unavailable', () => {}));
    return;
  }
  defineFileServerSuite({ describe, it, beforeAll, afterAll }, backend, options);
}

// Runs a conformance suite on one backend under vitest, or says plainly that
// the backend was skipped and why (the test command fails on a skipped
// backend that OVERLAPPED_REQUIRE_BACKENDS names).
import { describe, it } from 'vitest';

import type { BackendName } from '@overlapped/common';

import { backendAvailability, type TestApi } from '../src/index.js';

const api: TestApi = { describe, it: (name, body, timeout) => it(name, body, timeout) };

export function runOnBackend(backend: BackendName, define: (api: TestApi, backend: BackendName) => void): void {
  const availability = backendAvailability(backend);
  if (availability.available) {
    define(api, backend);
  } else {
    describe.skip(`[${backend}] skipped: ${availability.reason ?? 'unavailable'}`, () => {
      it('backend unavailable', () => {});
    });
  }
}

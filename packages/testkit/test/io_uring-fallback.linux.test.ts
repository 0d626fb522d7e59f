// Linux only: io_uring that the kernel refuses (a seccomp filter, as in
// container runtimes; a zero memlock limit) must lead to the threadpool
// fallback with one warning saying why, never to a crash; asking for
// io_uring explicitly must throw ERR_BACKEND_UNAVAILABLE with the reason.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const printBackend = join(fixtures, 'print-backend.mjs');
const linux = process.platform === 'linux';
const compiler = spawnSync('cc', ['--version']).status === 0 ? 'cc' : undefined;

describe.runIf(linux)('io_uring refused by the kernel [linux]', () => {
  let launcher = '';
  beforeAll(() => {
    if (!compiler) throw new Error('cc is needed to build the seccomp launcher');
    launcher = join(mkdtempSync(join(tmpdir(), 'overlapped-seccomp-')), 'seccomp-deny-io-uring');
    execFileSync(compiler, ['-O1', '-o', launcher, join(fixtures, 'seccomp-deny-io-uring.c')]);
  });

  for (const errno of ['EPERM', 'ENOSYS'] as const) {
    it(`falls back to threadpool when seccomp makes io_uring_setup fail with ${errno}`, () => {
      const run = spawnSync(launcher, [errno, process.execPath, printBackend], {
        encoding: 'utf8',
        env: { ...process.env, OVERLAPPED_BACKEND: '' },
        timeout: 60_000,
      });
      expect(run.status, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout.trim());
      expect(out.auto).toBe('threadpool');
      expect(out.delivered).toBe('ok');
      expect(out.explicit).toMatchObject({ code: 'ERR_BACKEND_UNAVAILABLE', reason: errno });
      expect(out.explicit.message).toMatch(/io_uring backend cannot run here/);
      // One warning, naming the backend passed over and why.
      const warnings = run.stderr.split('\n').filter((line) => line.includes('OVERLAPPED_BACKEND_FALLBACK'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/threadpool backend.*io_uring/);
      expect(warnings[0]).toContain(errno);
    });
  }

  it('does not crash under a zero memlock limit (older kernels charge rings to it)', () => {
    const run = spawnSync('prlimit', ['--memlock=0:0', process.execPath, printBackend], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim());
    expect(['io_uring', 'threadpool']).toContain(out.auto);
    expect(out.delivered).toBe('ok');
  });
});

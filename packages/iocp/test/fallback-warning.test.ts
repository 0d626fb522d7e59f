// The backend ladder holds only this platform's backends: on Linux, iocp
// (a Windows backend) is never "passed over", so a Linux process whose
// io_uring runs prints no fallback warning.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { nativeCandidates, platformBackends } from '../src/index.js';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('the native rungs of the ladder', () => {
  it('are the backends of this platform', () => {
    expect(platformBackends('linux')).toEqual(['io_uring', 'threadpool']);
    expect(platformBackends('win32')).toEqual(['iocp']);
    expect(platformBackends('darwin')).toEqual(['threadpool']);
    expect(nativeCandidates().map((c) => c.name)).toEqual(platformBackends());
  });

  it.runIf(process.platform === 'linux')('give a Linux process no warning about iocp', () => {
    const script = [
      `const { CompletionPort, tryLoadNativeCore } = await import(${JSON.stringify(dist)});`,
      'const port = new CompletionPort();',
      "const core = tryLoadNativeCore();",
      "console.log(JSON.stringify({ backend: port.backend, ioUring: 'binding' in core && core.binding.probe('io_uring').available }));",
      'await port.close();',
    ].join('\n');
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, OVERLAPPED_BACKEND: '' },
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const { backend, ioUring } = JSON.parse(run.stdout.trim()) as { backend: string; ioUring: boolean };
    expect(run.stderr).not.toMatch(/iocp/);
    if (ioUring) {
      expect(backend).toBe('io_uring');
      expect(run.stderr).not.toContain('OVERLAPPED_BACKEND_FALLBACK');
    } else {
      // io_uring refused here: the one warning names io_uring, not iocp.
      expect(backend).toBe('threadpool');
      expect(run.stderr).toMatch(/using the threadpool backend: io_uring cannot run here/);
    }
  });
});

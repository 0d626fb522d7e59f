import { afterEach, describe, expect, it, vi } from 'vitest';

import { resolveBackendRequest, selectBackend, validateInteger, validateOneOf } from '../src/index.js';

describe('resolveBackendRequest', () => {
  it('prefers the option, then OVERLAPPED_BACKEND, then auto', () => {
    expect(resolveBackendRequest('threadpool', { OVERLAPPED_BACKEND: 'portable' })).toBe('threadpool');
    expect(resolveBackendRequest(undefined, { OVERLAPPED_BACKEND: 'portable' })).toBe('portable');
    expect(resolveBackendRequest(undefined, {})).toBe('auto');
    expect(resolveBackendRequest(undefined, { OVERLAPPED_BACKEND: '' })).toBe('auto');
  });

  it('rejects unknown names from either source with ERR_INVALID_ARG_VALUE', () => {
    expect(() => resolveBackendRequest('epoll', {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => resolveBackendRequest(undefined, { OVERLAPPED_BACKEND: 'kqueue' })).toThrow(
      /OVERLAPPED_BACKEND/,
    );
  });
});

describe('selectBackend', () => {
  afterEach(() => vi.restoreAllMocks());

  const ladder = [
    { name: 'io_uring' as const, probe: () => ({ available: false, code: 'EPERM', message: 'io_uring_setup is blocked by seccomp' }) },
    {
      name: 'threadpool' as const,
      probe: () => {
        throw new Error('probe blew up');
      },
    },
    { name: 'portable' as const, probe: () => ({ available: true }) },
  ];

  it('walks the ladder, survives a throwing probe and warns once why it fell back', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const first = selectBackend('auto', ladder);
    expect(first.name).toBe('portable');
    expect(first.skipped.map((s) => [s.name, s.code])).toEqual([
      ['io_uring', 'EPERM'],
      ['threadpool', 'EPROBE'],
    ]);
    selectBackend('auto', ladder);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/portable backend.*seccomp/);
    expect(warn.mock.calls[0]?.[1]).toMatchObject({ code: 'OVERLAPPED_BACKEND_FALLBACK' });
  });

  it('throws ERR_BACKEND_UNAVAILABLE with the reason when an explicit backend cannot run', () => {
    expect(() => selectBackend('io_uring', ladder)).toThrow(
      expect.objectContaining({ code: 'ERR_BACKEND_UNAVAILABLE', backend: 'io_uring', reason: 'EPERM' }),
    );
    expect(() => selectBackend('iocp', ladder)).toThrow(/iocp backend cannot run here/);
  });

  it('throws when nothing on the ladder runs', () => {
    expect(() => selectBackend('auto', ladder.slice(0, 2))).toThrow(
      expect.objectContaining({ code: 'ERR_BACKEND_UNAVAILABLE' }),
    );
  });
});

describe('validators', () => {
  it('throw the Node codes', () => {
    expect(() => validateInteger('1', 'n')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => validateInteger(1.5, 'n')).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => validateInteger(11, 'n', 0, 10)).toThrow(/It must be >= 0 && <= 10. Received 11/);
    expect(() => validateOneOf('x', 'mode', ['a', 'b'])).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => validateInteger(5, 'n', 0, 10)).not.toThrow();
  });
});

describe('the fallback warning', () => {
  afterEach(() => vi.restoreAllMocks());

  // The warning is once per process: each test takes a fresh copy of the module.
  async function freshSelect() {
    vi.resetModules();
    return (await import('../src/select.js')).selectBackend;
  }

  it('says in a few lines what failed, what runs instead, what would fix it and how to silence it, once', async () => {
    const selectBackend = await freshSelect();
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const coreMissing = {
      available: false,
      code: 'ERR_NATIVE_CORE_UNAVAILABLE',
      message: 'The overlapped native core cannot load on linux-riscv64',
      remedy: 'To build the native core from source: node build-from-source.mjs',
    };
    const ladder = [
      { name: 'io_uring' as const, probe: () => coreMissing },
      { name: 'threadpool' as const, probe: () => coreMissing },
      { name: 'portable' as const, probe: () => ({ available: true }) },
    ];
    expect(selectBackend('auto', ladder).name).toBe('portable');
    selectBackend('auto', ladder);
    selectBackend('auto', [{ name: 'io_uring' as const, probe: () => ({ available: false, code: 'EPERM' }) }, ...ladder.slice(2)]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0]).split('\n')).toEqual([
      'overlapped is using the portable backend: io_uring and threadpool cannot run here: ' +
        'The overlapped native core cannot load on linux-riscv64 (ERR_NATIVE_CORE_UNAVAILABLE)',
      'To build the native core from source: node build-from-source.mjs',
      'To choose the portable backend and silence this warning, set OVERLAPPED_BACKEND=portable (or pass the backend option).',
    ]);
  });

  it('stays silent when the best backend runs, or when one is chosen by name', async () => {
    const selectBackend = await freshSelect();
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const refused = { name: 'io_uring' as const, probe: () => ({ available: false, code: 'EPERM' }) };
    const threadpool = { name: 'threadpool' as const, probe: () => ({ available: true }) };
    expect(selectBackend('auto', [threadpool]).name).toBe('threadpool');
    expect(selectBackend('threadpool', [refused, threadpool]).name).toBe('threadpool');
    expect(warn).not.toHaveBeenCalled();
  });
});

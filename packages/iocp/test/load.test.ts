// PREBUILDS_ONLY is a yes/no setting: 1 or true leaves a from-source build
// out, 0, false or empty let it load (it wins over the prebuilds).
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

import { loadNativeCore } from '../src/load.js';
// @ts-expect-error: a plain ESM script without types
import { prebuildPath } from '../scripts/prebuilds.mjs';
// @ts-expect-error: a plain ESM script without types
import { isSet } from '../scripts/env.mjs';

const prebuild: string = prebuildPath(`${process.platform}-${process.arch}`);

describe('PREBUILDS_ONLY', () => {
  // A package folder with a from-source build and no prebuilds.
  const root = mkdtempSync(join(tmpdir(), 'overlapped-load-'));
  mkdirSync(join(root, 'native', 'build', 'Release'), { recursive: true });
  copyFileSync(prebuild, join(root, 'native', 'build', 'Release', 'overlapped.node'));
  // OVERLAPPED_ADDON_PATH (the sanitizer row's) would override both.
  const saved = { PREBUILDS_ONLY: process.env['PREBUILDS_ONLY'], OVERLAPPED_ADDON_PATH: process.env['OVERLAPPED_ADDON_PATH'] };
  beforeEach(() => delete process.env['OVERLAPPED_ADDON_PATH']);
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  for (const value of ['0', 'false', 'off', '']) {
    it(`=${JSON.stringify(value)} lets a from-source build load`, () => {
      process.env['PREBUILDS_ONLY'] = value;
      expect(loadNativeCore(root).backends().length).toBeGreaterThan(0);
    });
  }

  for (const value of ['1', 'true', 'yes']) {
    it(`=${JSON.stringify(value)} loads nothing but a prebuild`, () => {
      process.env['PREBUILDS_ONLY'] = value;
      expect(() => loadNativeCore(root)).toThrow(
        expect.objectContaining({ code: 'ERR_NATIVE_CORE_UNAVAILABLE', tried: [join(root, 'prebuilds', `${process.platform}-${process.arch}`)] }),
      );
    });
  }
});

describe('the scripts read yes/no settings the same way', () => {
  it('takes unset, empty, 0, false, no and off as no', () => {
    for (const value of [undefined, '', ' ', '0', 'false', 'FALSE', 'no', 'off']) expect(isSet(value)).toBe(false);
    for (const value of ['1', 'true', 'yes', 'on', 'y']) expect(isSet(value)).toBe(true);
  });
});

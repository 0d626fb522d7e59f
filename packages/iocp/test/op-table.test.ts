// The op table's two sides: the generated files match the table, the
// native core reports the table it was built from (kinds, names, layouts,
// traits, constants) and it is the one @overlapped/common has, and the
// loader refuses a core built from another table.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  ACCEPT_ADDRESS_BYTES,
  ACCEPT_ADDRESS_ENTRY_BYTES,
  BATCH_FIELDS,
  FORWARD_FAILED_SIDE,
  FORWARD_STATS_BYTES,
  KIND_LIMIT,
  MAX_TRANSFER,
  OP_DESCRIPTIONS,
  OP_FLAGS,
  OP_RECORD_FINAL,
  OP_RECORD_MORE,
  OP_TABLE_ABI_ID,
  RECORD_WORDS,
  SEND_PROGRESS_BYTES,
  STAT_FIELDS,
} from '@overlapped/common';
import { afterEach, describe, expect, it } from 'vitest';

import { loadNativeCore } from '../src/load.js';
// @ts-expect-error: a plain ESM script without types
import { abiIdOf, generateOpTable, loadOpTable } from '../scripts/op-table.mjs';

describe('op table', () => {
  it('the generated header and TypeScript module are those of the table', async () => {
    await expect(generateOpTable({ check: true })).resolves.toEqual([]);
  });

  it('the native core was built from the table @overlapped/common has', () => {
    const core = loadNativeCore();
    expect(core.abiVersion).toBe(OP_TABLE_ABI_ID);
    expect(core.opTable.abiId).toBe(OP_TABLE_ABI_ID);
    expect(core.opTable.ops).toEqual(OP_DESCRIPTIONS);
    expect(core.opTable.constants).toEqual({
      recordWords: RECORD_WORDS,
      opRecordFinal: OP_RECORD_FINAL,
      opRecordMore: OP_RECORD_MORE,
      batchFields: BATCH_FIELDS,
      kindLimit: KIND_LIMIT,
      maxTransfer: MAX_TRANSFER,
      statFieldCount: STAT_FIELDS.length,
      acceptAddressEntryBytes: ACCEPT_ADDRESS_ENTRY_BYTES,
      acceptAddressBytes: ACCEPT_ADDRESS_BYTES,
      forwardStatsBytes: FORWARD_STATS_BYTES,
      sendProgressBytes: SEND_PROGRESS_BYTES,
      opFlags: OP_FLAGS,
      forwardFailedSide: FORWARD_FAILED_SIDE,
    });
  });

  it('the id changes with any kind, name, layout, trait or constant', async () => {
    const table = await loadOpTable();
    const id = abiIdOf(table) as string;
    expect(id).toBe(OP_TABLE_ABI_ID);
    const withOp = (change: (op: Record<string, unknown>) => Record<string, unknown>) => ({
      ...table,
      OPS: table.OPS.map((op: Record<string, unknown>, i: number) => (i === 1 ? change(op) : op)),
    });
    const variants = [
      withOp((op) => ({ ...op, kind: 1 })),
      withOp((op) => ({ ...op, name: 'opened' })),
      withOp((op) => ({ ...op, layout: { ...(op['layout'] as object), length: 'bytes' } })),
      withOp((op) => ({ ...op, traits: { ...(op['traits'] as object), multishot: true } })),
      { ...table, OP_CONSTANTS: { ...table.OP_CONSTANTS, maxTransfer: 1 } },
    ];
    const ids = new Set(variants.map((variant) => abiIdOf(variant)));
    expect(ids.size).toBe(variants.length);
    expect(ids.has(id)).toBe(false);
  });

  describe('a core built from another table', () => {
    const saved = process.env['OVERLAPPED_ADDON_PATH'];
    const dir = mkdtempSync(join(tmpdir(), 'overlapped-abi-'));
    afterEach(() => {
      if (saved === undefined) delete process.env['OVERLAPPED_ADDON_PATH'];
      else process.env['OVERLAPPED_ADDON_PATH'] = saved;
      rmSync(dir, { recursive: true, force: true });
    });

    it('is refused with ERR_NATIVE_CORE_UNAVAILABLE, naming both ids and what to align', () => {
      const fake = join(dir, 'other-table.cjs');
      writeFileSync(fake, `module.exports = { abiVersion: 'ops-0123456789abcdef', backends: () => ['threadpool'] };\n`);
      process.env['OVERLAPPED_ADDON_PATH'] = fake;
      let error: (Error & { code?: string }) | undefined;
      try {
        loadNativeCore(dir);
      } catch (caught) {
        error = caught as Error & { code?: string };
      }
      expect(error?.code).toBe('ERR_NATIVE_CORE_UNAVAILABLE');
      expect(error?.message).toContain('ops-0123456789abcdef');
      expect(error?.message).toContain(OP_TABLE_ABI_ID);
      expect(error?.message).toContain('@overlapped/common of the same release');
    });
  });
});

#!/usr/bin/env node
// Generates the two files that carry the op table (the one definition of
// every op and of the records both sides share, packages/common/src/op-table.ts)
// into each language:
//   - packages/iocp/native/common/generated/op_table.h: the OpKind enum,
//     OpTraits and TraitsOf(kind), the kinds in order (for the backends'
//     tables), the typed field accessors, the shared constants and the ABI
//     id (a hash of the table);
//   - packages/common/src/generated/op-table.ts: the same constants for
//     every TypeScript package, and the ABI id the loader compares with
//     the native core's.
// Both files are committed, so a build from the published package needs
// neither this script nor TypeScript. The native build runs it (it writes
// only what changed); `--check` fails instead of writing, for the tests.
//
//   node scripts/op-table.mjs [--check]

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const IOCP_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO_ROOT = resolve(IOCP_ROOT, '..', '..');
export const TABLE_SOURCE = join(REPO_ROOT, 'packages', 'common', 'src', 'op-table.ts');
export const HEADER_OUTPUT = join(IOCP_ROOT, 'native', 'common', 'generated', 'op_table.h');
export const TS_OUTPUT = join(REPO_ROOT, 'packages', 'common', 'src', 'generated', 'op-table.ts');

const capitalize = (text) => text.charAt(0).toUpperCase() + text.slice(1);
// 'create-new' -> 'CreateNew', 'atimeMs' -> 'AtimeMs'
const pascal = (text) => text.split(/[-_]/).map(capitalize).join('');
const screaming = (text) => text.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/-/g, '_').toUpperCase();
const snake = (text) => text.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/** The table module's exports (the TypeScript source, its types stripped). */
export async function loadOpTable(source = TABLE_SOURCE) {
  const require = createRequire(join(IOCP_ROOT, 'package.json'));
  const ts = require('typescript');
  const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);
}

/** Each op with every trait filled in, and its C++ names. */
function normalize(table) {
  return table.OPS.map((op) => {
    const name = (op.family === 'generic' ? '' : capitalize(op.family)) + capitalize(op.name);
    return { ...op, traits: { ...table.DEFAULT_TRAITS, ...op.traits }, cxxName: name };
  });
}

// FNV-1a, 64 bits, over the canonical text of the table (summaries left
// out: rewording one changes no contract).
function fnv1a64(text) {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}

export function abiIdOf(table) {
  const ops = normalize(table).map(({ kind, family, name, layout, traits }) => ({ kind, family, name, layout, traits }));
  return `ops-${fnv1a64(JSON.stringify({ ops, constants: table.OP_CONSTANTS }))}`;
}

function checkTable(ops) {
  const seen = new Map();
  let last = -1;
  for (const op of ops) {
    const range = op.family === 'generic' ? [0, 0] : op.family === 'file' ? [1, 63] : [64, 127];
    if (!Number.isInteger(op.kind) || op.kind < range[0] || op.kind > range[1]) {
      throw new Error(`op ${op.name}: kind ${op.kind} is outside the ${op.family} range ${range.join('-')}`);
    }
    if (op.kind <= last) throw new Error(`op ${op.name}: kinds must be listed in increasing order`);
    last = op.kind;
    if (seen.has(op.cxxName)) throw new Error(`op ${op.name}: the name is taken in family ${op.family}`);
    seen.set(op.cxxName, op);
  }
}

const HANDLE = { none: 'kNone', file: 'kFile', socket: 'kSocket' };
const REACTOR = { none: 'kNone', read: 'kRead', write: 'kWrite', flush: 'kFlush', close: 'kClose' };
const FAMILY = { generic: 'kGeneric', file: 'kFile', socket: 'kSocket' };

function cxxComment(text, indent = '') {
  const words = text.split(/\s+/);
  const lines = [];
  let line = `${indent}//`;
  for (const word of words) {
    if (line.length + word.length + 1 > 100) {
      lines.push(line);
      line = `${indent}//`;
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join('\n');
}

function layoutComment(layout) {
  const parts = [];
  for (const slot of ['handle', 'offset', 'arg', 'length', 'path']) if (layout[slot]) parts.push(`${slot} = ${layout[slot]}`);
  if (layout.buffers) parts.push(layout.buffers.length === 0 ? 'buffers = any list' : `buffers = [${layout.buffers.join(', ')}]`);
  return parts.length > 0 ? parts.join('; ') : 'no fields';
}

// Typed accessors: OpArgs<OpKind::kFileCopyRange>::target(op) reads the
// slot the layout gives `target`. Buffers by position.
function accessors(op) {
  const lines = [];
  for (const slot of ['handle', 'offset', 'arg', 'length']) {
    const field = op.layout[slot];
    if (field) lines.push(`  static int64_t ${snake(field)}(const Op& op) { return op.${slot}; }`);
  }
  if (op.layout.path) lines.push(`  static const std::string& ${snake(op.layout.path)}(const Op& op) { return op.path; }`);
  (op.layout.buffers ?? []).forEach((entry, index) => {
    const optional = entry.endsWith('?');
    const name = snake(entry.replace(/\?$/, ''));
    lines.push(`  static constexpr size_t k${pascal(entry.replace(/\?$/, ''))}Buffer = ${index};`);
    lines.push(
      optional
        ? `  // Null when the op was given none.\n  static const OpBuffer* ${name}(const Op& op) { return op.buffers.size() > ${index} ? &op.buffers[${index}] : nullptr; }`
        : `  static const OpBuffer* ${name}(const Op& op) { return op.buffers.size() > ${index} ? &op.buffers[${index}] : nullptr; }`,
    );
  });
  return lines;
}

export function renderHeader(table) {
  const ops = normalize(table);
  checkTable(ops);
  const c = table.OP_CONSTANTS;
  const out = [];
  out.push(`// Generated from packages/common/src/op-table.ts by packages/iocp/scripts/op-table.mjs.`);
  out.push(`// Do not edit: change the table and run the native build (or the script).`);
  out.push(`#pragma once`, ``, `#include <cstddef>`, `#include <cstdint>`, ``, `namespace overlapped {`, ``);
  out.push(`// Changes whenever the table does; the loader refuses a core whose id`);
  out.push(`// differs from the installed @overlapped/common's OP_TABLE_ABI_ID.`);
  out.push(`constexpr char kOpTableAbiId[] = "${abiIdOf(table)}";`, ``);
  out.push(`// What an I/O operation asks for, with the fields of its record.`);
  out.push(`// Kinds are numbered in ranges: 0 generic, 1-63 file, 64-127 socket.`);
  out.push(`enum class OpKind : uint32_t {`);
  for (const op of ops) {
    out.push(cxxComment(`${layoutComment(op.layout)}. ${op.summary}`, '  '));
    out.push(`  k${op.cxxName} = ${op.kind},`);
  }
  out.push(`};`, ``);
  out.push(`// Every kind, in order: X(Name, number), Name as in OpKind::kName.`);
  out.push(`#define OVERLAPPED_OP_KINDS(X) \\`);
  out.push(ops.map((op) => `  X(${op.cxxName}, ${op.kind})`).join(' \\\n'));
  out.push(``);
  out.push(`constexpr OpKind kOpKinds[] = {`);
  for (const op of ops) out.push(`    OpKind::k${op.cxxName},`);
  out.push(`};`);
  out.push(`constexpr size_t kOpKindCount = sizeof kOpKinds / sizeof kOpKinds[0];`, ``);
  out.push(`// The position of \`kind\` in kOpKinds, or -1 for a kind the table does not define.`);
  out.push(`constexpr int OpIndex(OpKind kind) {`, `  switch (kind) {`);
  ops.forEach((op, index) => out.push(`    case OpKind::k${op.cxxName}: return ${index};`));
  out.push(`  }`, `  return -1;`, `}`, ``);
  out.push(`// Each backend defines one entry per kind, next to the kind's functions,`);
  out.push(`// named after the kind (OVERLAPPED_OP_KINDS gives every name), and its`);
  out.push(`// table lists them all: a kind without an entry fails the build. An`);
  out.push(`// entry is made by a constexpr function that calls this one (not`);
  out.push(`// constexpr) when the entry contradicts the kind's traits, which makes`);
  out.push(`// the mistake a compile error naming it.`);
  out.push(`inline void OpEntryContradictsTheKindsTraits() {}`, ``);
  out.push(`enum class OpFamily : uint8_t { kGeneric, kFile, kSocket };`);
  out.push(`// Which kind of handle an op returns or closes.`);
  out.push(`enum class OpHandle : uint8_t { kNone, kFile, kSocket };`);
  out.push(`// Where an op waits on the POSIX readiness reactor (see op-table.ts).`);
  out.push(`enum class ReactorRole : uint8_t { kNone, kRead, kWrite, kFlush, kClose };`, ``);
  out.push(`// Traits of a kind (op-table.ts OpTraits says what each means).`);
  out.push(`struct OpTraits {`);
  out.push(`  const char* name;`, `  OpFamily family;`, `  bool blocking_on_windows;`, `  bool uring_helper;`);
  out.push(`  bool uring_copies_inline;`, `  OpHandle returns_handle;`, `  OpHandle closes_handle;`, `  bool relays;`);
  out.push(`  bool multishot;`, `  ReactorRole reactor;`, `  bool reactor_queues_directly;`);
  out.push(`  const char* layout_json;  // the record layout, as op-table.ts gives it`, `};`, ``);
  out.push(`// A kind the table does not define has no trait: it is no reactor op,`);
  out.push(`// runs nowhere and completes with ENOSYS.`);
  out.push(`constexpr OpTraits kUnknownOpTraits{"unknown", OpFamily::kGeneric, false, false, false,`);
  out.push(`                                   OpHandle::kNone, OpHandle::kNone, false, false, ReactorRole::kNone, false, "{}"};`, ``);
  out.push(`constexpr OpTraits kOpTraits[] = {`);
  for (const op of ops) {
    const t = op.traits;
    out.push(
      `    {"${op.name}", OpFamily::${FAMILY[op.family]}, ${t.blockingOnWindows}, ${t.uringHelper}, ` +
        `${t.uringCopiesInline}, OpHandle::${HANDLE[t.returnsHandle]}, OpHandle::${HANDLE[t.closesHandle]}, ${t.relays}, ` +
        `${t.multishot}, ReactorRole::${REACTOR[t.reactor]}, ${t.reactorQueuesDirectly},\n     ${JSON.stringify(JSON.stringify(op.layout))}},`,
    );
  }
  out.push(`};`, ``);
  out.push(`constexpr const OpTraits& TraitsOf(OpKind kind) {`);
  out.push(`  return OpIndex(kind) < 0 ? kUnknownOpTraits : kOpTraits[OpIndex(kind)];`, `}`);
  out.push(`constexpr bool IsFileOp(OpKind kind) { return OpIndex(kind) >= 0 && TraitsOf(kind).family == OpFamily::kFile; }`);
  out.push(`constexpr bool IsSocketOp(OpKind kind) { return OpIndex(kind) >= 0 && TraitsOf(kind).family == OpFamily::kSocket; }`, ``);

  out.push(`// One completion record: this many doubles (key, bytes, token, status).`);
  out.push(`constexpr size_t kRecordWords = ${c.recordWords};`);
  out.push(`// An op record's key word: the op's last completion, or one of a`);
  out.push(`// multishot op's earlier ones (the op stays in flight).`);
  out.push(`constexpr double kOpRecordFinal = ${c.opRecordFinal};`, `constexpr double kOpRecordMore = ${c.opRecordMore};`);
  out.push(`// Doubles per op in submitBatch's fields: kind, token, key, handle, offset, arg.`);
  out.push(`constexpr size_t kSubmitBatchFields = ${c.batchFields};`);
  out.push(`constexpr uint32_t kOpKindLimit = ${c.kindLimit};`);
  out.push(`// Op::flags bits.`, `namespace op_flags {`);
  for (const [key, value] of Object.entries(c.opFlags)) out.push(`constexpr uint32_t k${pascal(key)} = ${value}u;`);
  out.push(`}  // namespace op_flags`, ``);
  out.push(`// The most one read or write op moves.`);
  out.push(`constexpr uint32_t kMaxTransfer = 0x${c.maxTransfer.toString(16)}u;`, ``);
  out.push(`// The bits of a file open op's \`arg\`. Dispositions and share bits carry`);
  out.push(`// their Win32 values, so the iocp backend passes them through.`, `namespace file_open {`);
  for (const [key, value] of Object.entries(c.fileOpen)) out.push(`constexpr int64_t k${pascal(key)} = 0x${value.toString(16)};`);
  for (const [key, value] of Object.entries(c.dispositions)) out.push(`constexpr int64_t k${pascal(key)} = ${value};`);
  for (const [key, value] of Object.entries(c.shareBits)) out.push(`constexpr int64_t kShare${pascal(key)} = ${value};`);
  out.push(`}  // namespace file_open`, ``);
  out.push(`// What a file stat op writes into its buffer: doubles, in this order.`);
  out.push(`enum FileStatField : int {`);
  for (const field of c.statFields) out.push(`  kStat${pascal(field)},`);
  out.push(`  kStatFieldCount,`, `};`);
  out.push(`constexpr size_t kFileStatBytes = kStatFieldCount * sizeof(double);`, ``);
  out.push(`// An accept's address record: the local, then the remote entry. An entry:`);
  out.push(`// the port (2 bytes, little endian), the text's length, the family (4`);
  out.push(`// or 6), then the numeric address as ASCII text (inet_ntop's).`);
  out.push(`constexpr size_t kAcceptAddressEntryBytes = ${c.acceptAddressEntryBytes};`);
  out.push(`constexpr size_t kAcceptAddressBytes = ${c.acceptAddressBytes};`);
  out.push(`static_assert(kAcceptAddressBytes == 2 * kAcceptAddressEntryBytes, "two entries");`, ``);
  out.push(`// A socket shutdown op's \`how\`.`, `namespace shutdown_how {`);
  for (const [key, value] of Object.entries(c.shutdownHow)) out.push(`constexpr int64_t k${pascal(key)} = ${value};`);
  out.push(`}  // namespace shutdown_how`);
  out.push(`// socketSetOption's option numbers.`, `namespace socket_option {`);
  for (const [key, value] of Object.entries(c.socketOptions)) out.push(`constexpr int k${pascal(key)} = ${value};`);
  out.push(`}  // namespace socket_option`);
  out.push(`// A forward op's stats: bytes received, bytes sent, the side that failed`);
  out.push(`// (doubles); the last only where the buffer has room for it.`);
  out.push(`constexpr size_t kForwardStatsBytes = ${c.forwardStatsBytes};`);
  out.push(`enum ForwardSide : int {`);
  for (const [key, value] of Object.entries(c.forwardFailedSide)) out.push(`  kForwardFailed${pascal(key)} = ${value},`);
  out.push(`};`);
  out.push(`constexpr size_t kSendProgressBytes = ${c.sendProgressBytes};`, ``);
  out.push(`}  // namespace overlapped`, ``);
  return out.join('\n');
}

/** The typed accessors, which need Op: included by backend.h after it. */
export function renderArgsHeader(table) {
  const ops = normalize(table);
  const out = [];
  out.push(`// Generated from packages/common/src/op-table.ts by packages/iocp/scripts/op-table.mjs.`);
  out.push(`// Do not edit. Included by backend.h after Op.`);
  out.push(`#pragma once`, ``, `#include <string>`, ``, `namespace overlapped {`, ``);
  out.push(`// OpArgs<OpKind::kX>::field(op): an op's fields by the names its layout`);
  out.push(`// gives them, read from the record slot the table maps them to.`);
  out.push(`template <OpKind kind>`, `struct OpArgs;`, ``);
  for (const op of ops) {
    out.push(`template <>`, `struct OpArgs<OpKind::k${op.cxxName}> {`, ...accessors(op), `};`, ``);
  }
  out.push(`}  // namespace overlapped`, ``);
  return out.join('\n');
}

function tsValue(value) {
  return JSON.stringify(value, null, 2).replace(/"([a-zA-Z_][a-zA-Z0-9_]*)":/g, '$1:').replace(/"/g, "'");
}

export function renderTsModule(table) {
  const ops = normalize(table);
  checkTable(ops);
  const c = table.OP_CONSTANTS;
  const out = [];
  const family = (name) => Object.fromEntries(ops.filter((op) => op.family === name).map((op) => [op.name, op.kind]));
  out.push(`/**`, ` * Generated from ../op-table.ts by packages/iocp/scripts/op-table.mjs: do not edit.`);
  out.push(` * The constants of the native contract, for every package.`, ` */`, ``);
  const constant = (doc, name, value) => {
    const typed = typeof value === 'object' ? `${tsValue(value)} as const` : tsValue(value);
    out.push(`/** ${doc} */`, `export const ${name} = ${typed};`, ``);
  };
  out.push(`/** Identifies this table; the native core must report the same (its \`abiVersion\`). */`);
  out.push(`export const OP_TABLE_ABI_ID = '${abiIdOf(table)}';`, ``);
  constant('Generic op kinds (0).', 'OpKinds', family('generic'));
  constant('File op kinds (1-63).', 'FileOpKinds', family('file'));
  constant('Socket op kinds (64-127).', 'SocketOpKinds', family('socket'));
  constant('Every op: kind, family, name, record layout and traits (the native core exports the same).', 'OP_DESCRIPTIONS',
    ops.map(({ kind, family: f, name, layout, traits }) => ({ kind, family: f, name, layout, traits })));
  for (const [key, value] of Object.entries(c)) {
    const names = { fileOpen: 'OPEN_BITS', opFlags: 'OP_FLAGS' };
    constant(`See OP_CONSTANTS.${key} in op-table.ts.`, names[key] ?? screaming(key), value);
  }
  return out.join('\n');
}

function writeIfChanged(path, text, check) {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (current === text) return false;
  if (check) throw new Error(`${relative(REPO_ROOT, path)} is stale: run node packages/iocp/scripts/op-table.mjs`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return true;
}

/**
 * Writes the generated files that differ from the table (or, with `check`,
 * throws naming the first stale one). Without the table's source (an
 * installed package) there is nothing to do: the generated header ships.
 *
 * @example
 *   await generateOpTable(); // ['…/op_table.h'] when the table changed
 */
export async function generateOpTable({ check = false } = {}) {
  if (!existsSync(TABLE_SOURCE)) return [];
  const table = await loadOpTable();
  const written = [];
  const argsHeader = join(dirname(HEADER_OUTPUT), 'op_args.h');
  for (const [path, text] of [
    [HEADER_OUTPUT, renderHeader(table)],
    [argsHeader, renderArgsHeader(table)],
    [TS_OUTPUT, renderTsModule(table)],
  ]) {
    if (writeIfChanged(path, text, check)) written.push(path);
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  try {
    const written = await generateOpTable({ check: process.argv.includes('--check') });
    for (const path of written) console.log(`op-table: wrote ${relative(REPO_ROOT, path)}`);
  } catch (error) {
    console.error(`op-table: ${error.message}`);
    process.exitCode = 1;
  }
}

#!/usr/bin/env node
// Extracts the code blocks of the READMEs users read (the root one and every
// public package's), so that the package check runs them verbatim and a
// README change is tested. Every fenced block is one of:
//
//   ```js                an ES module, run as a .mjs file
//   ```js commonjs       a CommonJS module, run as a .cjs file
//   ```ts                TypeScript, run as tsc emits it
// (every one type-checked under strict, JavaScript with checkJs)
//   anything else        must carry a marker on the line before it, saying
//                        why it is not run:
//                          <!-- example-not-run: the reason -->
//
// A runnable block may carry <!-- example-native-only: the reason --> to be
// left out of the run with OVERLAPPED_BACKEND=portable.
//
//   node scripts/readme-examples.mjs      lists the blocks and what is done with each
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { publicPackages, root } from './packages.mjs';

/** The READMEs whose examples are run: the root one and every public package's. */
export function readmePaths(base = root) {
  return [join(base, 'README.md'), ...publicPackages(base).map(({ dir }) => join(dir, 'README.md'))];
}

const MARKER = /^<!--\s*example-(not-run|native-only):\s*(.*?)\s*-->$/;

/**
 * The fenced code blocks of one README: `{ readme, line, id, kind, code,
 * nativeOnly?, reason? }`, `kind` being `mjs`, `cjs`, `ts` or `not-run`.
 * Throws on a block that is neither runnable nor marked, and on a marker
 * that belongs to no block.
 *
 * @example
 *   for (const example of extractExamples('README.md')) console.log(example.id, example.kind);
 */
export function extractExamples(readme, base = root) {
  const lines = readFileSync(readme, 'utf8').split('\n');
  const name = relative(base, readme);
  const slug = name.replace(/\/?README\.md$/, '').replace(/^packages\//, '').replace(/\W+/g, '-') || 'root';
  const examples = [];
  let marker; // { type, reason, line } of the marker just above
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const markerMatch = MARKER.exec(line.trim());
    if (markerMatch) {
      marker = { type: markerMatch[1], reason: markerMatch[2], line: i + 1 };
      continue;
    }
    const fence = /^(```+|~~~+)\s*(\S*)\s*(.*)$/.exec(line);
    if (!fence) {
      if (marker && line.trim() !== '') throw new Error(`${name}:${marker.line}: the example-${marker.type} marker is not followed by a code block`);
      continue;
    }
    const [, delimiter, language, rest] = fence;
    const start = i + 1;
    const body = [];
    for (i++; i < lines.length && !lines[i].startsWith(delimiter); i++) body.push(lines[i]);
    if (i >= lines.length) throw new Error(`${name}:${start}: the code block is not closed`);
    const words = rest.split(/\s+/).filter(Boolean);
    const kind =
      language === 'ts' ? 'ts' : language === 'js' ? (words.includes('commonjs') ? 'cjs' : 'mjs') : undefined;
    const example = { readme: name, line: start, id: `${slug}-${start}`, kind: kind ?? 'not-run', code: `${body.join('\n')}\n` };
    if (marker?.type === 'not-run') {
      example.kind = 'not-run';
      example.reason = marker.reason;
    } else if (kind === undefined) {
      throw new Error(`${name}:${start}: a \`${language || '(no language)'}\` block is not runnable; mark it with <!-- example-not-run: why -->`);
    } else if (marker?.type === 'native-only') {
      example.nativeOnly = marker.reason;
    }
    if (marker && !marker.reason) throw new Error(`${name}:${marker.line}: the example-${marker.type} marker gives no reason`);
    marker = undefined;
    examples.push(example);
  }
  if (marker) throw new Error(`${name}:${marker.line}: the example-${marker.type} marker is not followed by a code block`);
  return examples;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const readme of readmePaths()) {
    for (const example of extractExamples(readme)) {
      const note = example.reason ?? (example.nativeOnly ? `native only: ${example.nativeOnly}` : '');
      console.log(`${example.readme}:${example.line}  ${example.kind.padEnd(7)} ${note}`);
    }
  }
}

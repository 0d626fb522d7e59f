#!/usr/bin/env node
// The changesets dry run: what the next release would publish, tried on a
// copy of the repository (the working tree as it is, plus the built dist/
// folders and prebuilds), never on the repository itself:
//   1. `changeset version` consumes the pending changesets;
//   2. every public package is packed with `pnpm pack`.
// Checks: each package with a pending changeset gets a higher version and a
// CHANGELOG.md headed by it; an unreleased package (0.0.0) has exactly one
// changeset, so its changelog reads as a first release; the tarballs carry
// the new versions, CHANGELOG.md, every promised prebuild (scripts/pack.mjs)
// and internal dependencies on the new versions, no `workspace:` range.
// Prints each package's new changelog.
//
//   node scripts/changeset-dry-run.mjs [--summary FILE] [--keep]
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

import { checkTarballs, packPublicPackages, tarballFiles, tarballText } from './pack.mjs';
import { publicPackages, root } from './packages.mjs';

const { values } = parseArgs({ options: { summary: { type: 'string' }, keep: { type: 'boolean' } } });
const problems = [];

/** The pending changesets: `[{ file, bumps: Map<package, type> }]`. */
function pendingChangesets(base) {
  const dir = join(base, '.changeset');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.md') && file !== 'README.md')
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      const front = /^---\n([\s\S]*?)\n---/.exec(text)?.[1] ?? '';
      const bumps = new Map();
      for (const line of front.split('\n')) {
        const match = /^\s*["']?([^"':]+)["']?\s*:\s*(major|minor|patch)\s*$/.exec(line);
        if (match) bumps.set(match[1], match[2]);
      }
      return { file, bumps };
    });
}

function newer(a, b) {
  const [x, y] = [a, b].map((version) => version.split(/[.-]/).slice(0, 3).map(Number));
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

const work = mkdtempSync(join(tmpdir(), 'overlapped-changeset-'));
try {
  // The copy: tracked and untracked files of the working tree, then the
  // built outputs git ignores but the tarballs carry.
  const copy = join(work, 'repo');
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  for (const file of listed.split('\0').filter(Boolean)) {
    if (!existsSync(join(root, file))) continue; // deleted in the working tree
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    cpSync(join(root, file), join(copy, file));
  }
  const before = publicPackages();
  for (const { folder, dir } of before) {
    for (const built of ['dist', 'prebuilds']) {
      if (existsSync(join(dir, built))) cpSync(join(dir, built), join(copy, 'packages', folder, built), { recursive: true });
    }
  }
  // The workspace's tools (changesets' changelog generator resolves from
  // here), and each package's workspace dependencies linked as pnpm links
  // them (pnpm pack reads their versions there to replace `workspace:`).
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
  for (const { folder, manifest } of before) {
    for (const [dependency, range] of Object.entries(manifest.dependencies ?? {})) {
      const target = before.find((entry) => entry.name === dependency);
      if (!range.startsWith('workspace:') || !target) continue;
      const link = join(copy, 'packages', folder, 'node_modules', dependency);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(copy, 'packages', target.folder), link, 'dir');
    }
  }

  const changesets = pendingChangesets(copy);
  for (const { name, manifest } of before) {
    const touching = changesets.filter(({ bumps }) => bumps.has(name)).map(({ file }) => file);
    if (manifest.version === '0.0.0' && touching.length !== 1) {
      problems.push(
        `${name} is unreleased (0.0.0) and has ${touching.length} changesets (${touching.join(', ') || 'none'}): ` +
          'its first changelog entry should be one first-release changeset; fold the others into it',
      );
    }
  }

  const version = spawnSync(process.execPath, [join(root, 'node_modules', '@changesets', 'cli', 'bin.js'), 'version'], {
    cwd: copy,
    encoding: 'utf8',
  });
  if (version.status !== 0) throw new Error(`changeset version failed:\n${version.stdout}${version.stderr}`);
  const left = pendingChangesets(copy);
  if (left.length > 0) problems.push(`changeset version left ${left.map(({ file }) => file).join(', ')}`);

  const after = new Map(publicPackages(copy).map((entry) => [entry.name, entry.manifest.version]));
  console.log('\nchangesets dry run: `changeset version` on a copy, then pnpm pack');
  for (const { name, folder, manifest } of before) {
    const next = after.get(name);
    const bumped = changesets.some(({ bumps }) => bumps.has(name));
    if (bumped && newer(next, manifest.version) <= 0) problems.push(`${name}: version ${manifest.version} -> ${next}, not higher`);
    if (!bumped) continue;
    const changelogPath = join(copy, 'packages', folder, 'CHANGELOG.md');
    const changelog = existsSync(changelogPath) ? readFileSync(changelogPath, 'utf8') : '';
    if (!changelog.startsWith(`# ${name}\n\n## ${next}\n`)) problems.push(`${name}: CHANGELOG.md does not start with '# ${name}' and '## ${next}'`);
    console.log(`\n  ${name} ${manifest.version} -> ${next}, CHANGELOG.md:\n${changelog.replace(/^/gm, '    | ').trimEnd()}`);
  }

  const packed = packPublicPackages(join(work, 'tarballs'), copy);
  problems.push(...checkTarballs(packed).problems);
  for (const { name, tarball } of packed) {
    const manifest = JSON.parse(tarballText(tarball, 'package.json'));
    if (manifest.version !== after.get(name)) problems.push(`${name}: packed as ${manifest.version}, expected ${after.get(name)}`);
    if (existsSync(join(copy, 'packages', publicPackages(copy).find((p) => p.name === name).folder, 'CHANGELOG.md')) && !tarballFiles(tarball).includes('CHANGELOG.md')) {
      problems.push(`${name}: CHANGELOG.md is not in the tarball`);
    }
    for (const [dependency, range] of Object.entries(manifest.dependencies ?? {})) {
      if (after.has(dependency) && range !== `^${after.get(dependency)}`) problems.push(`${name}: depends on ${dependency}@${range}, expected ^${after.get(dependency)}`);
    }
  }
} catch (error) {
  problems.push(error.stack ?? String(error));
} finally {
  if (values.keep) console.log(`  kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

for (const problem of problems) console.error(`  problem: ${problem}`);
console.log(`changesets dry run: ${problems.length === 0 ? 'passed' : `${problems.length} problems`}`);
if (values.summary) {
  mkdirSync(dirname(values.summary), { recursive: true });
  writeFileSync(values.summary, JSON.stringify({ passed: problems.length === 0 ? 1 : 0, failed: problems.length }));
}
process.exit(problems.length > 0 ? 1 : 0);

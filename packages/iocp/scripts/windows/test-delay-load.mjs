#!/usr/bin/env node
// Checks, under Wine, that a Node-API addon built by build.mjs loads in the
// Windows node.exe and in a renamed copy of it (host.exe, in a folder with
// no node.exe), which only works if the delay-load hook resolves "node.exe"
// to the host process. A probe built without the hook must fail in host.exe,
// which shows the check can tell the difference. The real prebuild, when
// there is one, is loaded in host.exe too.
//
//   node test-delay-load.mjs
//
// Ends with "N passed, N failed" (and "N skipped").

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeSources } from '../build-from-source.mjs';
import { IOCP_ROOT, buildTestAddon, prebuildPath } from './build.mjs';
import { runWindowsNode, toWindowsPath } from './wine-node.mjs';

const results = { passed: 0, failed: 0, skipped: 0 };

function report(ok, what, detail = '') {
  results[ok ? 'passed' : 'failed']++;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${what}\n`);
  if (!ok && detail) process.stdout.write(`     ${detail.trim().split('\n').join('\n     ')}\n`);
}

function skip(what, why) {
  results.skipped++;
  process.stdout.write(`skip ${what}: ${why}\n`);
}

async function loadProbe(probePath, exeName) {
  const script = [
    `const probe = require(${JSON.stringify(toWindowsPath(probePath))});`,
    `console.log(JSON.stringify({ echo: probe.echo('hi'), nodeApiModule: probe.nodeApiModule(),`,
    `  execPath: process.execPath, roundTrip: probe.iocpRoundTrip(1000) }));`,
  ].join('\n');
  return runWindowsNode({ args: ['-e', script], exeName, timeoutMs: 60_000 });
}

function parseLastLine(stdout) {
  try {
    return JSON.parse(stdout.trim().split('\n').pop());
  } catch {
    return null;
  }
}

const workDir = mkdtempSync(join(tmpdir(), 'overlapped-delay-load-'));
try {
  const winSources = nativeSources('win');
  const probeSource = join(IOCP_ROOT, 'native', 'test', 'delay_load_probe.cc');

  const hooked = buildTestAddon({ sources: [probeSource, ...winSources], output: join(workDir, 'probe.node') });
  report(
    hooked.imports.delayed.join() === 'node.exe',
    `probe imports ${hooked.imports.loadTime.join(', ')} at load time and delay-loads node.exe`,
  );

  for (const exeName of ['node.exe', 'host.exe']) {
    const run = await loadProbe(hooked.path, exeName);
    const answer = parseLastLine(run.stdout);
    report(
      run.status === 0 &&
        answer?.echo === 'delay-loaded hi' &&
        answer.nodeApiModule.toLowerCase() === answer.execPath.toLowerCase() &&
        answer.execPath.toLowerCase().endsWith(`\\${exeName}`) &&
        answer.roundTrip === 1000,
      `probe loads in ${exeName}, Node-API resolves to ${exeName}, 1000 posts round-trip through iocp`,
      `status ${run.status}\n${run.stdout}${run.stderr}`,
    );
  }

  const unhooked = buildTestAddon({
    sources: [probeSource, ...winSources.filter((file) => !file.endsWith('delay_load_hook.cc'))],
    output: join(workDir, 'probe-without-hook.node'),
  });
  const control = await loadProbe(unhooked.path, 'host.exe');
  report(control.status !== 0, 'control: a probe without the hook fails to load in host.exe', control.stdout);

  const prebuild = prebuildPath();
  if (existsSync(prebuild)) {
    const script = `const addon = require(${JSON.stringify(toWindowsPath(prebuild))}); console.log(Object.keys(addon).join(','));`;
    const run = await runWindowsNode({ args: ['-e', script], exeName: 'host.exe', timeoutMs: 60_000 });
    report(run.status === 0, `prebuild ${prebuild.slice(IOCP_ROOT.length + 1)} loads in host.exe`, run.stdout + run.stderr);
  } else {
    skip('prebuild loads in host.exe', `no ${prebuild} (run build.mjs first)`);
  }
} catch (error) {
  report(false, 'delay-load check ran to the end', error.stack ?? String(error));
} finally {
  rmSync(workDir, { recursive: true, force: true });
}

process.stdout.write(`${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped\n`);
process.exitCode = results.failed === 0 ? 0 : 1;

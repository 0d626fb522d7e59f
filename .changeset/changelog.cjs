// The changelog lines `changeset version` writes: each changeset's summary
// as it is written (no commit hash: it links nowhere on npm), and the
// internal dependencies a release moves to, except dependencies released
// for the first time in the same release (for a package released with them,
// that is no news).
'use strict';

/** @type {import('@changesets/types').ChangelogFunctions['getReleaseLine']} */
async function getReleaseLine(changeset) {
  const [first, ...rest] = changeset.summary.split('\n').map((line) => line.trimEnd());
  return [`- ${first}`, ...rest.map((line) => (line ? `  ${line}` : ''))].join('\n');
}

/** @type {import('@changesets/types').ChangelogFunctions['getDependencyReleaseLine']} */
async function getDependencyReleaseLine(_changesets, dependencies) {
  const moved = dependencies.filter((dependency) => dependency.oldVersion !== '0.0.0');
  if (moved.length === 0) return '';
  return ['- Updated dependencies:', ...moved.map((dependency) => `  - ${dependency.name}@${dependency.newVersion}`)].join('\n');
}

module.exports = { getReleaseLine, getDependencyReleaseLine };

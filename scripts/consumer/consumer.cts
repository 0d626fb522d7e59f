// A CommonJS TypeScript consumer (`module: nodenext`): `require()` of the
// packages, which are ES modules, works on the Node versions `engines`
// names (require(esm)), and gives the very modules `import()` gives, so a
// process that loads both shares one copy of each package's state.
import assert = require('node:assert');
import file = require('@overlapped/file');
import common = require('@overlapped/common');

async function main(): Promise<void> {
  const imported = await import('@overlapped/file');
  assert.equal(file.open, imported.open);
  assert.equal(file.OverlappedFile, imported.OverlappedFile);
  assert.equal(common.isOverlappedError((await import('@overlapped/common')).systemError({ code: 'EBADF', syscall: 'read' })), true);
  console.log('consumer (CommonJS): require() and import() give the same modules');
}

void main();

import { getSystemErrorMap } from 'node:util';

import { describe, expect, it } from 'vitest';

import {
  AbortError,
  codedError,
  errnoName,
  invalidArgType,
  invalidArgValue,
  isOverlappedError,
  outOfRange,
  systemError,
} from '../src/index.js';

const enoent = [...getSystemErrorMap()].find(([, [name]]) => name === 'ENOENT')?.[0] as number;

describe('system errors', () => {
  it('match the shape and wording of Node fs errors', async () => {
    const error = systemError({ errno: enoent, syscall: 'open', path: '/missing' });
    expect(error.message).toBe("ENOENT: no such file or directory, open '/missing'");
    expect(error).toMatchObject({ code: 'ENOENT', errno: enoent, syscall: 'open', path: '/missing' });
    const fs = await import('node:fs/promises');
    const nodeError = await fs.open('/missing').catch((e: unknown) => e as NodeJS.ErrnoException);
    expect(error.message).toBe(nodeError.message);
    expect(error.errno).toBe(nodeError.errno);
  });

  it('word socket errors like Node net, with address and port', () => {
    const error = systemError({ code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port: 9 });
    expect(error.message).toBe('connect ECONNREFUSED 127.0.0.1:9');
    expect(error).toMatchObject({ code: 'ECONNREFUSED', address: '127.0.0.1', port: 9 });
    expect(typeof error.errno).toBe('number');
  });

  it('keep the raw platform code and a path pair', () => {
    const error = systemError({ code: 'EEXIST', syscall: 'rename', path: 'a', dest: 'b', rawCode: 183 });
    expect(error.message).toBe("EEXIST: file already exists, rename 'a' -> 'b'");
    expect(error.rawCode).toBe(183);
  });

  it('take a description of their own in place of the code\'s', () => {
    const error = systemError({ code: 'EINVAL', syscall: 'copyfile', path: 'a', dest: 'a', description: 'source and destination are the same file' });
    expect(error.message).toBe("EINVAL: source and destination are the same file, copyfile 'a' -> 'a'");
    expect(error).toMatchObject({ code: 'EINVAL', syscall: 'copyfile', path: 'a', dest: 'a' });
  });

  it('name errnos the way this platform does', () => {
    expect(errnoName(enoent)).toBe('ENOENT');
    expect(errnoName(-999_999)).toBe('E999999');
  });
});

describe('argument errors', () => {
  it('are TypeError / RangeError with Node codes and wording', () => {
    const type = invalidArgType('key', 'of type number', 'x');
    expect(type).toBeInstanceOf(TypeError);
    expect(type.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(type.message).toBe(`The "key" argument must be of type number. Received type string ('x')`);
    // A dotted name is a property, as Node words it (validateAbortSignal's "options.signal").
    expect(invalidArgType('options.signal', 'an instance of AbortSignal', 1).message).toBe(
      'The "options.signal" property must be an instance of AbortSignal. Received type number (1)',
    );
    const range = outOfRange('bytes', '>= 0 && <= 4294967295', -1);
    expect(range).toBeInstanceOf(RangeError);
    expect(range.code).toBe('ERR_OUT_OF_RANGE');
    expect(range.message).toBe('The value of "bytes" is out of range. It must be >= 0 && <= 4294967295. Received -1');
    // Past 2 ** 32, Node groups the digits.
    expect(outOfRange('start', '>= 0 && <= 9007199254740991', 2 ** 53).message).toMatch(/Received 9_007_199_254_740_992$/);
    expect(outOfRange('n', '>= 0', -(2 ** 40)).message).toMatch(/Received -1_099_511_627_776$/);
    expect(outOfRange('n', '>= 0', 2n ** 40n).message).toMatch(/Received 1_099_511_627_776n$/);
    expect(outOfRange('n', '>= 0', 4294967296).message).toMatch(/Received 4294967296$/);
    expect(outOfRange('n', 'an integer', 1.5).message).toMatch(/Received 1.5$/);
    const value = invalidArgValue('backend', 'epoll', "must be one of: 'auto'");
    expect(value.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(value.message).toBe("The argument 'backend' must be one of: 'auto'. Received 'epoll'");
  });

  it('describe objects, functions and null like Node', () => {
    expect(invalidArgType('a', 'of type number', null).message).toMatch(/Received null$/);
    expect(invalidArgType('a', 'of type number', new Map()).message).toMatch(/Received an instance of Map$/);
    expect(invalidArgType('a', 'of type number', function named() {}).message).toMatch(/Received function named$/);
  });
});

describe('AbortError and branding', () => {
  it('has name AbortError, code ABORT_ERR and the reason as cause', () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const error = new AbortError(undefined, { cause: controller.signal.reason });
    expect(error.name).toBe('AbortError');
    expect(error.code).toBe('ABORT_ERR');
    expect((error.cause as Error).message).toBe('stop');
  });

  it('recognises its own errors across copies through a Symbol.for brand', () => {
    const error = codedError('ERR_PORT_CLOSED', 'closed', { extra: 1 });
    expect(isOverlappedError(error)).toBe(true);
    expect((error as unknown as { extra: number }).extra).toBe(1);
    const foreign = new Error('x');
    expect(isOverlappedError(foreign)).toBe(false);
    Object.defineProperty(foreign, Symbol.for('overlapped.error'), { value: true });
    expect(isOverlappedError(foreign)).toBe(true);
  });
});

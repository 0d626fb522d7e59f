import { describe, expect, it } from 'vitest';

import { envFlag } from '../src/index.js';

describe('envFlag', () => {
  it('takes unset, empty, 0, false, no and off (any case) as no, anything else as yes', () => {
    for (const value of [undefined, '', '  ', '0', 'false', 'False', 'NO', 'off']) {
      expect(envFlag('X', { X: value })).toBe(false);
    }
    for (const value of ['1', 'true', 'yes', 'on', '2']) expect(envFlag('X', { X: value })).toBe(true);
  });
});

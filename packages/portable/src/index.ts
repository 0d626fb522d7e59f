/**
 * @overlapped/portable: the completion-port contract in pure TypeScript.
 * It never loads native code, so it runs wherever Node runs.
 *
 * @packageDocumentation
 */
import { CompletionPort as PortCore, type PortOptions, validateInteger, validateObject } from '@overlapped/common';

import { PortableDriver } from './portable-driver.js';

export { PortableDriver } from './portable-driver.js';

/**
 * A completion port served by the portable backend: completions are queued
 * in JS and delivered in batches on a later turn of the event loop.
 *
 * @example
 * ```ts
 * import { CompletionPort } from '@overlapped/portable';
 *
 * const port = new CompletionPort<string>();
 * port.post(1, 5, 'hello');
 * for await (const c of port) {
 *   console.log(c.key, c.bytes, c.value); // 1 5 hello
 *   break;
 * }
 * await port.close();
 * ```
 */
export class CompletionPort<V = unknown> extends PortCore<V> {
  constructor(options: Omit<PortOptions<V>, 'threads' | 'concurrency'> & { threads?: 1; concurrency?: 1 } = {}) {
    // The JS thread is the only worker: 1 is the one valid count.
    validateObject(options, 'options', true);
    if (options.threads !== undefined) validateInteger(options.threads, 'options.threads', 1, 1);
    if (options.concurrency !== undefined) validateInteger(options.concurrency, 'options.concurrency', 1, 1);
    super(
      'portable',
      (config, wake) => ({
        driver: new PortableDriver(config.ringCapacity, wake),
        capabilities: { nativeWorkers: false, nativePosters: false, kernelQueue: false, ops: false },
      }),
      { ...options, threads: 1, concurrency: 1 },
    );
  }
}

/**
 * Whether the portable backend can run: always.
 *
 * @example
 * ```ts
 * probe(); // { available: true }
 * ```
 */
export function probe(): { available: true } {
  return { available: true };
}

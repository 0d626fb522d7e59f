/**
 * Yes/no settings from the environment, read one way everywhere: unset,
 * empty, `0`, `false`, `no` and `off` (any case, surrounding blanks
 * ignored) mean no; anything else means yes. So `PREBUILDS_ONLY=0` turns
 * the setting off, as a user would expect.
 */

/**
 * True when the yes/no environment variable `name` is set to a yes.
 *
 * @example
 * ```ts
 * envFlag('PREBUILDS_ONLY', { PREBUILDS_ONLY: '1' }); // true
 * envFlag('PREBUILDS_ONLY', { PREBUILDS_ONLY: '0' }); // false
 * ```
 */
export function envFlag(name: string, env: Record<string, string | undefined> = process.env): boolean {
  const value = env[name];
  return value !== undefined && !/^(|0|false|no|off)$/i.test(value.trim());
}

// How the scripts read a yes/no environment variable, the same way the
// packages do (packages/common/src/env.ts): unset, empty, 0, false, no and
// off (any case) are "not set"; anything else is set.

/**
 * True when a yes/no environment value is set.
 *
 * @example
 *   isSet(process.env.OVERLAPPED_REQUIRE_PREBUILDS); // false for undefined, '', '0', 'false'
 */
export function isSet(value) {
  return value !== undefined && !/^(|0|false|no|off)$/i.test(value.trim());
}

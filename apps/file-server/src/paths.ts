/**
 * From a request target to path segments under the root, refusing every
 * spelling that could leave it. The target is decoded exactly once, and
 * the decoded path is then checked segment by segment: nothing is
 * normalised, so `..` in any spelling (`../`, `..%2f`, `%2e%2e/`) is
 * refused rather than resolved, and a double-encoded `%252e%252e` stays
 * the literal name `%2e%2e` (no such file: 404).
 */

/** Segments under the root, or the status that refuses the target. */
export type TargetResult = { ok: true; segments: string[]; directory: boolean } | { ok: false; status: 400 | 404; reason: string };

// Names Windows maps to devices whatever the folder or extension (`nul.txt` too).
const WINDOWS_DEVICES = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
// Characters Windows refuses in a file name (`:` is refused everywhere, below).
const WINDOWS_RESERVED = /[<>"|?*]/;
const CONTROL = /[\x00-\x1f\x7f]/;

const refuse = (status: 400 | 404, reason: string): TargetResult => ({ ok: false, status, reason });

/**
 * Maps a request target (origin-form `/a/b?q`, or absolute-form
 * `http://host/a/b`) to the path segments of a file under the root.
 * Refused with 400: a target that is neither form, a fragment, a backslash
 * (raw or `%5c`, on every platform), a bad percent-encoding or UTF-8, a
 * control byte (`%00` too), a `.` or `..` segment, a `:` (drive letters,
 * Windows streams). On `platform` win32 also, with 404: device names
 * (`con`, `nul.txt`), names ending in a dot or space, and `<>"|?*`.
 * `directory` says the path ended in `/` (the server then looks for
 * `index.html` there).
 *
 * @example
 * ```ts
 * targetSegments('/docs/a%20b.txt?x=1'); // { ok: true, segments: ['docs', 'a b.txt'], directory: false }
 * targetSegments('/..%2fetc/passwd');     // { ok: false, status: 400, ... }
 * ```
 */
export function targetSegments(target: string, platform: NodeJS.Platform = process.platform): TargetResult {
  let path = target;
  const absolute = /^https?:\/\/[^/?#]*/i.exec(path);
  if (absolute) path = path.slice(absolute[0].length) || '/';
  if (path[0] !== '/') return refuse(400, 'the target is not a path');
  if (path.includes('#')) return refuse(400, 'a fragment in the target');
  const query = path.indexOf('?');
  if (query >= 0) path = path.slice(0, query);
  if (path.includes('\\')) return refuse(400, 'a backslash in the path');
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return refuse(400, 'a malformed percent-encoding');
  }
  if (decoded.includes('\\')) return refuse(400, 'a backslash in the path');
  if (CONTROL.test(decoded)) return refuse(400, 'a control character in the path');
  const segments: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '') continue;
    if (segment === '.' || segment === '..') return refuse(400, 'a dot segment in the path');
    if (segment.includes(':')) return refuse(400, 'a colon in the path');
    if (platform === 'win32') {
      if (WINDOWS_DEVICES.test(segment)) return refuse(404, 'a Windows device name');
      if (/[. ]$/.test(segment)) return refuse(404, 'a name ending in a dot or a space');
      if (WINDOWS_RESERVED.test(segment)) return refuse(404, 'a character Windows refuses in names');
    }
    segments.push(segment);
  }
  return { ok: true, segments, directory: segments.length === 0 || decoded.endsWith('/') };
}

/**
 * Whether `real` (a real path, symlinks resolved) is `root` or under it.
 *
 * @example
 * ```ts
 * isInside('/srv/www', '/srv/www/a.txt', '/'); // true
 * isInside('/srv/www', '/srv/www2/a.txt', '/'); // false
 * ```
 */
export function isInside(root: string, real: string, separator: string): boolean {
  if (real === root) return true;
  const prefix = root.endsWith(separator) ? root : root + separator;
  return real.startsWith(prefix);
}

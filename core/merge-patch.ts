// JSON merge patch (RFC 7386): objects merge key by key, null removes a key, anything else replaces.
// Pure: neither argument is modified; unchanged parts of the result may share structure with them.

/** Applies `patch` to `target` as RFC 7386 section 2 defines it. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = {};
  if (isObject(target)) {
    for (const [key, value] of Object.entries(target)) setOwn(result, key, value);
  }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else {
      const current = Object.hasOwn(result, key) ? result[key] : undefined;
      setOwn(result, key, applyMergePatch(current, value));
    }
  }
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Plain assignment of a "__proto__" key would change the result's prototype instead of adding a key. */
function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
}

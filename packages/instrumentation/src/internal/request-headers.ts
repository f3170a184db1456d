/**
 * Adds the propagation headers to the SDK's per-request `headers` option without ever replacing
 * a header the caller set: the caller's value wins, whatever its case.
 */
export function mergeRequestHeaders(callerHeaders: unknown, ours: Record<string, string>): unknown {
  if (callerHeaders === undefined || callerHeaders === null) return ours;
  if (Array.isArray(callerHeaders)) {
    // SDK 5+ accepts `[name, value][]`; later entries win there, so ours go first.
    const names = new Set<string>();
    for (const pair of callerHeaders) {
      if (Array.isArray(pair) && typeof pair[0] === 'string') names.add(pair[0].toLowerCase());
    }
    return [...entriesWithout(ours, names), ...callerHeaders];
  }
  if (typeof callerHeaders !== 'object') return callerHeaders;
  const forEach = (callerHeaders as { forEach?: unknown }).forEach;
  if (typeof forEach === 'function' && Symbol.iterator in callerHeaders) {
    // A fetch `Headers` (SDK 5+): it lower-cases names itself.
    const names = new Set<string>();
    (callerHeaders as Headers).forEach((_value, name) => {
      names.add(name);
    });
    return [...entriesWithout(ours, names), ...(callerHeaders as Headers)];
  }
  if (Object.getPrototypeOf(callerHeaders) !== Object.prototype) {
    // Something we do not know (an SDK-internal header builder): leave the caller's untouched.
    return callerHeaders;
  }
  const names = new Set<string>();
  for (const [name, value] of Object.entries(callerHeaders)) {
    // `undefined` sets nothing; `null` (SDK 5+: "remove this header") is the caller's choice.
    if (value !== undefined) names.add(name.toLowerCase());
  }
  const merged: Record<string, unknown> = {};
  for (const [name, value] of entriesWithout(ours, names)) merged[name] = value;
  return Object.assign(merged, callerHeaders);
}

function entriesWithout(ours: Record<string, string>, names: Set<string>): [string, string][] {
  const entries: [string, string][] = [];
  for (const name in ours) {
    if (!names.has(name)) entries.push([name, ours[name] as string]);
  }
  return entries;
}

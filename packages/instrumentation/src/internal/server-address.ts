/** `server.address` and `server.port` of one client, derived once from its `baseURL`. */
export interface ServerAddress {
  readonly address: string;
  readonly port: number;
}

// Owner: the instrumentation. Keyed by client object, so an entry lives exactly as long as its client.
const cache = new WeakMap<object, ServerAddress | null>();

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'https:': 443, 'http:': 80 };

/** The server a client talks to, or undefined when its `baseURL` is not a URL. */
export function serverAddressOf(client: unknown): ServerAddress | undefined {
  if (typeof client !== 'object' || client === null) return undefined;
  let entry = cache.get(client);
  if (entry === undefined) {
    entry = parse((client as { baseURL?: unknown }).baseURL);
    cache.set(client, entry);
  }
  return entry ?? undefined;
}

function parse(baseURL: unknown): ServerAddress | null {
  if (typeof baseURL !== 'string') return null;
  let url: URL;
  try {
    url = new URL(baseURL);
  } catch {
    return null;
  }
  const port = url.port === '' ? DEFAULT_PORTS[url.protocol] : Number(url.port);
  if (port === undefined) return null;
  // IPv6 hosts come back bracketed from URL; the conventions want the bare address.
  const address = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { address, port };
}

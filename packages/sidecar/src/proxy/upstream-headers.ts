/**
 * Which headers cross the proxy. Towards the upstream: content negotiation, the credential and
 * OpenAI's account headers, nothing else (no cookies, no hop-by-hop headers). Back to the
 * client: the upstream's rate-limit and processing headers, which SDKs and operators read.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { UpstreamTarget } from '../upstream/provider-registry.js';

const FORWARDED = ['openai-organization', 'openai-project', 'openai-beta', 'user-agent'] as const;

/**
 * Headers for the upstream request. The provider's own key replaces the client's credential;
 * the answer is asked for uncompressed so it can be read and cached as is.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  target: UpstreamTarget,
  hasBody: boolean,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {
    accept: incoming.accept ?? 'application/json',
    'accept-encoding': 'identity',
  };
  if (hasBody) out['content-type'] = 'application/json';
  const auth = target.apiKey !== undefined ? `Bearer ${target.apiKey}` : incoming.authorization;
  if (auth !== undefined) out.authorization = auth;
  for (const name of FORWARDED) {
    const v = incoming[name];
    if (typeof v === 'string') out[name] = v;
  }
  return out;
}

/** The upstream answer headers worth passing back to the client, or undefined when none. */
export function passBackHeaders(headers: IncomingHttpHeaders): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const name in headers) {
    if (
      name.startsWith('x-ratelimit-') ||
      name.startsWith('openai-') ||
      name === 'retry-after' ||
      name === 'retry-after-ms'
    ) {
      const v = headers[name];
      if (typeof v === 'string') {
        out ??= {};
        out[name] = v;
      }
    }
  }
  return out;
}

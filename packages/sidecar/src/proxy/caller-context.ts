/**
 * Who is calling: the agent and task from `x-switchyard-agent` / `x-switchyard-task`, else from
 * the W3C `baggage` keys `switchyard.agent` / `switchyard.task` that the instrumentation sets.
 */

import type { IncomingHttpHeaders } from 'node:http';
import {
  BAGGAGE_SWITCHYARD_AGENT,
  BAGGAGE_SWITCHYARD_TASK,
  HEADER_SWITCHYARD_AGENT,
  HEADER_SWITCHYARD_TASK,
  HEADER_SWITCHYARD_TENANT,
} from '@switchyard/instrumentation/semconv';

export interface CallerContext {
  readonly agent: string | undefined;
  readonly task: string | undefined;
}

const MAX_VALUE = 256;

/**
 * Reads agent and task. Headers win over baggage. Values over 256 characters are ignored.
 *
 * @example
 * callerContext({ baggage: 'switchyard.agent=research,switchyard.task=summarize' });
 * // { agent: 'research', task: 'summarize' }
 */
export function callerContext(headers: IncomingHttpHeaders): CallerContext {
  let agent = single(headers[HEADER_SWITCHYARD_AGENT]);
  let task = single(headers[HEADER_SWITCHYARD_TASK]);
  if (agent === undefined || task === undefined) {
    const baggage = headers.baggage;
    // Most requests carry no baggage of ours; one indexOf rules them out.
    if (typeof baggage === 'string' && baggage.includes('switchyard.')) {
      agent ??= baggageValue(baggage, BAGGAGE_SWITCHYARD_AGENT);
      task ??= baggageValue(baggage, BAGGAGE_SWITCHYARD_TASK);
    }
  }
  return { agent, task };
}

/**
 * The cache tenant: the caller's credential, narrowed by `x-switchyard-tenant` when sent.
 * The header can only split a credential's answers further, never widen them: a caller that
 * names another tenant still needs that tenant's credential to read its answers.
 */
export function tenantOf(headers: IncomingHttpHeaders): string {
  const auth = headers.authorization;
  const credential = typeof auth === 'string' ? `auth:${auth}` : '';
  const t = headers[HEADER_SWITCHYARD_TENANT];
  return typeof t === 'string' && t.length > 0 ? `tenant:${t}|${credential}` : credential;
}

function single(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return undefined;
  const t = s.trim();
  return t.length === 0 || t.length > MAX_VALUE ? undefined : t;
}

/** The value of `key` in a W3C baggage header (`k=v;props,k2=v2`), percent-decoded. */
export function baggageValue(header: string, key: string): string | undefined {
  let from = 0;
  while (from < header.length) {
    const comma = header.indexOf(',', from);
    const end = comma < 0 ? header.length : comma;
    const eq = header.indexOf('=', from);
    if (eq > 0 && eq < end && header.slice(from, eq).trim() === key) {
      const semi = header.indexOf(';', eq);
      const raw = header.slice(eq + 1, semi >= 0 && semi < end ? semi : end).trim();
      let value: string;
      try {
        value = decodeURIComponent(raw);
      } catch {
        return undefined;
      }
      return value.length === 0 || value.length > MAX_VALUE ? undefined : value;
    }
    from = end + 1;
  }
  return undefined;
}

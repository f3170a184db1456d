/**
 * The rules API under `/switchyard/`: what the learner decided and why, and the operator's levers.
 *
 *   GET    /switchyard/rules          rules (static and learned) with evidence, pins, dry-run,
 *                                     per-task statistics and totals from the learner
 *   GET    /switchyard/pins           pins
 *   POST   /switchyard/pins           {agent?, task?, model?, note?} → 201 the new pin
 *   DELETE /switchyard/pins/:id       200 {deleted: true}, 404 if unknown
 *   GET    /switchyard/history        ?limit=N (default 100, at most 1000), newest first
 *   POST   /switchyard/dry-run        {enabled: boolean} → {dryRun}
 *
 * The app checks the admin token before calling this handler; errors leave in OpenAI's shape
 * through `sendError`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from '../errors/error-response.js';
import { BadRequestError, NotFoundError, SwitchyardError } from '../errors/switchyard-error.js';
import { readBody } from '../http/read-body.js';
import type { RequestHandler } from '../http/request-handler.js';
import { sendJson } from '../http/send-json.js';
import type { LearnerReport } from '../learning/learner.js';
import type { Pin, Rule, RuleMatch, RuleStore } from '../routing/rule.js';

export interface RulesApiDeps {
  readonly store: RuleStore;
  /** The learner's last report (per-task statistics); absent when learning is off. */
  readonly report?: () => LearnerReport;
  /** Rules from the config file, listed with the learned ones. */
  readonly staticRules?: readonly Rule[];
  /** Pins from the config file (not removable through the API). */
  readonly staticPins?: readonly Pin[];
  /** Largest request body. Defaults to 16 KiB. */
  readonly maxBodyBytes?: number;
}

/** The body of `GET /switchyard/rules`. */
export interface RulesListing {
  readonly version: number;
  readonly dryRun: boolean;
  readonly rules: readonly Rule[];
  readonly pins: readonly (Pin & { readonly source: 'static' | 'api' })[];
  readonly learning: LearnerReport | null;
}

const PREFIX = '/switchyard/';
const MAX_NOTE = 500;
const MAX_NAME = 256;

function methodNotAllowed(allow: string): SwitchyardError {
  return new SwitchyardError(405, 'invalid_request_error', `Method not allowed; use ${allow}.`, {
    code: 'method_not_allowed',
    headers: { allow },
  });
}

async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const body = await readBody(req, limit);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.length === 0 ? '{}' : body.toString('utf8'));
  } catch {
    throw new BadRequestError('The request body is not valid JSON.', { code: 'invalid_json' });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BadRequestError('The request body must be a JSON object.', { code: 'invalid_json' });
  }
  return parsed as Record<string, unknown>;
}

function optionalName(
  body: Record<string, unknown>,
  field: 'agent' | 'task' | 'model',
): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '' || v.length > MAX_NAME) {
    throw new BadRequestError(
      `'${field}' must be a non-empty string of at most ${MAX_NAME} characters.`,
      {
        param: field,
      },
    );
  }
  return v;
}

/**
 * The handler for every `/switchyard/*` path.
 * @example createSidecarApp({ ..., admin: createRulesApi({ store, report: learner.report }) })
 */
export function createRulesApi(deps: RulesApiDeps): RequestHandler {
  const limit = deps.maxBodyBytes ?? 16 * 1024;
  const staticRules = deps.staticRules ?? [];
  const staticPins = deps.staticPins ?? [];

  function listing(): RulesListing {
    const s = deps.store.snapshot();
    return {
      version: s.version,
      dryRun: s.dryRun,
      rules: [...staticRules, ...s.rules],
      pins: [
        ...staticPins.map((p) => ({ ...p, source: 'static' as const })),
        ...s.pins.map((p) => ({ ...p, source: 'api' as const })),
      ],
      learning: deps.report?.() ?? null,
    };
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '');
    const method = req.method ?? 'GET';
    const sub = path.startsWith(PREFIX) ? path.slice(PREFIX.length) : '';

    if (sub === 'rules') {
      if (method !== 'GET') throw methodNotAllowed('GET');
      sendJson(res, 200, listing());
      return;
    }
    if (sub === 'pins') {
      if (method === 'GET') {
        sendJson(res, 200, { pins: listing().pins });
        return;
      }
      if (method !== 'POST') throw methodNotAllowed('GET, POST');
      const body = await readJson(req, limit);
      const match: { agent?: string; task?: string; model?: string } = {};
      for (const f of ['agent', 'task', 'model'] as const) {
        const v = optionalName(body, f);
        if (v !== undefined) match[f] = v;
      }
      if (Object.keys(match).length === 0) {
        throw new BadRequestError('A pin needs at least one of "agent", "task" or "model".', {
          param: 'agent',
        });
      }
      const note = body.note;
      if (note !== undefined && (typeof note !== 'string' || note.length > MAX_NOTE)) {
        throw new BadRequestError(`'note' must be a string of at most ${MAX_NOTE} characters.`, {
          param: 'note',
        });
      }
      const pin = await deps.store.pin(match as RuleMatch, note as string | undefined);
      sendJson(res, 201, pin);
      return;
    }
    if (sub.startsWith('pins/')) {
      if (method !== 'DELETE') throw methodNotAllowed('DELETE');
      const id = decodeURIComponent(sub.slice('pins/'.length));
      if (staticPins.some((p) => p.id === id)) {
        throw new BadRequestError(`Pin ${id} comes from the config file; remove it there.`, {
          param: 'id',
          code: 'static_pin',
        });
      }
      if (!(await deps.store.unpin(id)))
        throw new NotFoundError(`No pin with id ${id}.`, { param: 'id' });
      sendJson(res, 200, { id, deleted: true });
      return;
    }
    if (sub === 'history') {
      if (method !== 'GET') throw methodNotAllowed('GET');
      const raw = url.searchParams.get('limit');
      const n = raw === null ? 100 : Number(raw);
      if (!Number.isInteger(n) || n < 1 || n > 1000) {
        throw new BadRequestError("'limit' must be an integer in 1..1000.", { param: 'limit' });
      }
      sendJson(res, 200, { history: await deps.store.history(n) });
      return;
    }
    if (sub === 'dry-run') {
      if (method === 'GET') {
        sendJson(res, 200, { dryRun: deps.store.snapshot().dryRun });
        return;
      }
      if (method !== 'POST') throw methodNotAllowed('GET, POST');
      const body = await readJson(req, limit);
      if (typeof body.enabled !== 'boolean') {
        throw new BadRequestError("'enabled' must be true or false.", { param: 'enabled' });
      }
      await deps.store.setDryRun(body.enabled);
      sendJson(res, 200, { dryRun: deps.store.snapshot().dryRun });
      return;
    }
    req.resume();
    throw new NotFoundError(`Unknown rules API path ${path}.`);
  }

  return async (req, res) => {
    try {
      await route(req, res);
    } catch (error) {
      sendError(res, error);
    }
  };
}

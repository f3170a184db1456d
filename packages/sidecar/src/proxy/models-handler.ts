/**
 * `GET /v1/models` and `GET /v1/models/{id}`: the models the config's providers list, or, when
 * no provider lists any, the default upstream's own answer passed through.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HEADER_REQUEST_ID } from '@switchyard/instrumentation/semconv';
import { sendErrorWith, toSwitchyardError } from '../errors/error-response.js';
import { NotFoundError, UpstreamError } from '../errors/switchyard-error.js';
import { sendJson } from '../http/send-json.js';
import type { ProviderRegistry } from '../upstream/provider-registry.js';
import { readUpstreamBody, type UpstreamClient } from '../upstream/upstream-client.js';
import { upstreamRequestHeaders } from './upstream-headers.js';

export interface ModelsHandlerDeps {
  readonly providers: ProviderRegistry;
  readonly upstream: UpstreamClient;
  readonly newRequestId: () => string;
  /** Epoch ms. */
  readonly now: () => number;
}

/** Handles `GET /v1/models[/{id}]`; `id` is the decoded model id or undefined for the list. */
export function createModelsHandler(
  deps: ModelsHandlerDeps,
): (req: IncomingMessage, res: ServerResponse, id: string | undefined) => Promise<void> {
  const listed = new Map<string, string>();
  for (const t of deps.providers.targets) {
    for (const m of t.models) if (!listed.has(m)) listed.set(m, t.name);
  }
  const created = Math.floor(deps.now() / 1000);
  const modelObject = (id: string) => ({
    id,
    object: 'model',
    created,
    owned_by: listed.get(id) ?? 'switchyard',
  });

  return async function handleModels(req, res, id) {
    const headers = { [HEADER_REQUEST_ID]: deps.newRequestId() };
    try {
      if (listed.size > 0) {
        if (id === undefined) {
          sendJson(
            res,
            200,
            { object: 'list', data: [...listed.keys()].map(modelObject) },
            headers,
          );
          return;
        }
        if (!listed.has(id)) {
          throw new NotFoundError(`The model '${id}' is not served by any configured provider.`, {
            param: 'model',
            code: 'model_not_found',
          });
        }
        sendJson(res, 200, modelObject(id), headers);
        return;
      }
      const target = deps.providers.default;
      const up = await deps.upstream.send({
        target,
        method: 'GET',
        path: id === undefined ? '/models' : `/models/${encodeURIComponent(id)}`,
        headers: upstreamRequestHeaders(req.headers, target, false),
        model: 'models',
      });
      const text = (await readUpstreamBody(up.body, 16 * 1024 * 1024)).toString('utf8');
      try {
        JSON.parse(text);
      } catch {
        throw new UpstreamError(
          `The upstream answered HTTP ${up.status} to GET /models with a body that is not JSON.`,
          {
            code: 'upstream_invalid_response',
          },
        );
      }
      sendJson(res, up.status, text, headers);
    } catch (error) {
      sendErrorWith(res, toSwitchyardError(error), headers);
    }
  };
}

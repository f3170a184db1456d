/**
 * Which upstream serves a model. Built once at start-up: model → provider is a Map lookup, and
 * each provider's URL parts and keep-alive agent are precomputed so a request never parses a URL.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { ProviderConfig } from '../config/sidecar-config.js';

/** One upstream, ready to send to. */
export interface UpstreamTarget {
  /** Provider name from the config, or `default` for `SWITCHYARD_UPSTREAM_URL`. */
  readonly name: string;
  readonly baseURL: string;
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  readonly port: number;
  /** Path prefix of the base URL without trailing slash, e.g. `/v1`. */
  readonly basePath: string;
  /** `host` header value. */
  readonly hostHeader: string;
  /** The provider's own key; when set, the client's Authorization is not forwarded. */
  readonly apiKey: string | undefined;
  readonly agent: HttpAgent;
  /** Models this provider lists (empty for the default upstream). */
  readonly models: readonly string[];
}

export interface ProviderRegistryOptions {
  readonly upstreamUrl: string;
  readonly providers: readonly ProviderConfig[];
  /** Keep-alive sockets per host. */
  readonly maxSockets: number;
}

/**
 * Model → upstream lookup.
 *
 * @example
 * const providers = new ProviderRegistry({ upstreamUrl, providers: config.providers, maxSockets: 256 });
 * providers.resolve('gpt-4o-mini').baseURL; // 'https://api.openai.com/v1'
 */
export class ProviderRegistry {
  readonly default: UpstreamTarget;
  readonly targets: readonly UpstreamTarget[];
  readonly #byModel = new Map<string, UpstreamTarget>();
  readonly #agents: HttpAgent[] = [];

  constructor(options: ProviderRegistryOptions) {
    const agents = new Map<string, HttpAgent>();
    const agentFor = (protocol: string, host: string): HttpAgent => {
      const key = `${protocol}//${host}`;
      let agent = agents.get(key);
      if (agent === undefined) {
        const agentOptions = {
          keepAlive: true,
          maxSockets: options.maxSockets,
          maxFreeSockets: options.maxSockets,
          scheduling: 'lifo' as const,
        };
        agent = protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
        agents.set(key, agent);
        this.#agents.push(agent);
      }
      return agent;
    };
    const build = (
      name: string,
      baseURL: string,
      apiKey: string | undefined,
      models: readonly string[],
    ): UpstreamTarget => {
      const u = new URL(baseURL);
      const protocol = u.protocol === 'https:' ? 'https:' : 'http:';
      const port = u.port === '' ? (protocol === 'https:' ? 443 : 80) : Number(u.port);
      return Object.freeze({
        name,
        baseURL,
        protocol,
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port,
        basePath: u.pathname.replace(/\/+$/, ''),
        hostHeader: u.host,
        apiKey,
        agent: agentFor(protocol, u.host),
        models,
      });
    };
    this.default = build('default', options.upstreamUrl, undefined, []);
    this.targets = options.providers.map((p) => build(p.name, p.baseURL, p.apiKey, p.models));
    for (const t of this.targets) {
      for (const m of t.models) if (!this.#byModel.has(m)) this.#byModel.set(m, t);
    }
  }

  /** The upstream for `model`: the first provider listing it, else the default upstream. */
  resolve(model: string): UpstreamTarget {
    return this.#byModel.get(model) ?? this.default;
  }

  /** Every model some provider lists, in config order, without duplicates. */
  listedModels(): string[] {
    return [...this.#byModel.keys()];
  }

  /** Closes pooled sockets (shutdown). */
  close(): void {
    for (const a of this.#agents) a.destroy();
  }
}

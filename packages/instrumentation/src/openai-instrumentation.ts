import { diag, type Tracer } from '@opentelemetry/api';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
} from '@opentelemetry/instrumentation';
import {
  type CallTracer,
  isWrapped,
  ORIGINAL_METHOD,
  originalOf,
  wrapCreate,
} from './internal/create-wrapper.js';
import type { CallSettings } from './internal/model-call.js';
import type {
  ClientLike,
  CreateMethod,
  OpenAIClassLike,
  ResourceLike,
} from './internal/openai-shapes.js';
import {
  CHAT_COMPLETIONS,
  EMBEDDINGS,
  type OperationSpec,
  RESPONSES,
  TEXT_COMPLETIONS,
} from './internal/operations.js';
import { createGenAiMetrics, type GenAiMetrics } from './metrics.js';
import { defaultPriceTable } from './pricing/price-table.js';
import { SCOPE_INSTRUMENTATION } from './semconv.js';
import type { SwitchyardInstrumentationConfig } from './types.js';
import { PACKAGE_VERSION } from './version.js';

/** SDK majors whose layout the patch was tested against. */
const SUPPORTED_VERSIONS = ['>=4.0.0 <8'];
const DEFAULT_MODULE_NAMES: readonly string[] = ['openai'];
const DEFAULT_MAX_CONTENT_LENGTH = 16_384;
const CAPTURE_ENV = 'OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT';

type PatchTarget = { readonly holder: ResourceLike | undefined; readonly spec: OperationSpec };

function prototypeTargets(exports: unknown): PatchTarget[] {
  const ns = exports as { OpenAI?: unknown; default?: unknown } | null;
  const OpenAI = (ns?.OpenAI ?? ns?.default ?? ns) as OpenAIClassLike | undefined;
  return [
    { holder: OpenAI?.Chat?.Completions?.prototype, spec: CHAT_COMPLETIONS },
    { holder: OpenAI?.Responses?.prototype, spec: RESPONSES },
    { holder: OpenAI?.Embeddings?.prototype, spec: EMBEDDINGS },
    { holder: OpenAI?.Completions?.prototype, spec: TEXT_COMPLETIONS },
  ];
}

function clientTargets(client: ClientLike): PatchTarget[] {
  return [
    { holder: client.chat?.completions, spec: CHAT_COMPLETIONS },
    { holder: client.responses, spec: RESPONSES },
    { holder: client.embeddings, spec: EMBEDDINGS },
    { holder: client.completions, spec: TEXT_COMPLETIONS },
  ];
}

/**
 * OpenTelemetry instrumentation of the `openai` SDK (majors 4 to 7): one CLIENT span per
 * `chat.completions.create`, `responses.create`, `embeddings.create` and `completions.create`
 * call (streamed or not), with GenAI attributes, cost, agent and task, plus GenAI metrics.
 *
 * Works with `registerInstrumentations` and the Node SDK. CommonJS `require('openai')` is patched
 * as it loads; for ESM `import 'openai'` start node with
 * `--import @switchyard/instrumentation/hook`. Bundled apps use {@link instrumentOpenAI}.
 *
 * @example
 * registerInstrumentations({ instrumentations: [new SwitchyardOpenAIInstrumentation()] });
 */
export class SwitchyardOpenAIInstrumentation extends InstrumentationBase<SwitchyardInstrumentationConfig> {
  // `declare`: the base constructor already calls _updateMetricInstruments(), and an initialised
  // field would be reset to undefined after super() returns.
  declare private _settings: CallSettings | undefined;
  declare private _metrics: GenAiMetrics | undefined;
  declare private _owner: CallTracer | undefined;

  constructor(config: SwitchyardInstrumentationConfig = {}) {
    super(SCOPE_INSTRUMENTATION, PACKAGE_VERSION, config);
    this._settings = resolveSettings(this._config, this._metrics);
  }

  override setConfig(config: SwitchyardInstrumentationConfig = {}): void {
    super.setConfig(config);
    this._settings = resolveSettings(this._config, this._metrics);
  }

  protected override _updateMetricInstruments(): void {
    this._metrics = createGenAiMetrics(this.meter);
    // Called from the base constructor before our fields exist; the constructor resolves later.
    if (this._settings !== undefined) {
      this._settings = { ...this._settings, metrics: this._metrics };
    }
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    const names = (this._config.moduleNames ?? DEFAULT_MODULE_NAMES).slice();
    return names.map(
      (name) =>
        new InstrumentationNodeModuleDefinition(
          name,
          SUPPORTED_VERSIONS,
          (exports: unknown) => {
            this.patchTargets(prototypeTargets(exports));
            return exports;
          },
          (exports: unknown) => {
            if (exports !== undefined) this.unpatchTargets(prototypeTargets(exports));
          },
        ),
    );
  }

  /**
   * Patches one client instance (its resources' own `create`), for bundlers where module loading
   * cannot be intercepted. A client whose class is already patched is left alone.
   */
  instrumentClient<T extends object>(client: T): T {
    this.patchTargets(clientTargets(client as ClientLike));
    return client;
  }

  /** Removes what {@link instrumentClient} added to `client`. */
  uninstrumentClient<T extends object>(client: T): T {
    for (const { holder } of clientTargets(client as ClientLike)) {
      if (holder !== undefined && Object.hasOwn(holder, 'create') && isWrapped(holder.create)) {
        delete holder.create;
      }
    }
    return client;
  }

  /** What the wrapped methods read at call time: enabled flag, tracer, settings. */
  private owner(): CallTracer {
    if (this._owner === undefined) {
      const tracer = (): Tracer => this.tracer;
      this._owner = {
        isEnabled: () => this.isEnabled(),
        tracer,
        // Only undefined while the base constructor runs, when no call can be made yet.
        settings: () => this._settings as CallSettings,
      };
    }
    return this._owner;
  }

  private patchTargets(targets: PatchTarget[]): void {
    for (const { holder, spec } of targets) {
      if (holder === undefined || typeof holder.create !== 'function') continue;
      // Patching twice (two instrumentations, or a class and one of its clients) is harmless.
      if (isWrapped(holder.create)) continue;
      defineCreate(holder, wrapCreate(this.owner(), spec, holder.create));
    }
  }

  private unpatchTargets(targets: PatchTarget[]): void {
    for (const { holder } of targets) {
      if (holder === undefined || typeof holder.create !== 'function') continue;
      const create: CreateMethod & { [ORIGINAL_METHOD]?: CreateMethod } = holder.create;
      if (create[ORIGINAL_METHOD] === undefined) continue;
      defineCreate(holder, originalOf(create));
    }
  }
}

// Defined like the SDK's own class methods (non-enumerable), on a prototype or a client's resource.
function defineCreate(holder: ResourceLike, create: CreateMethod): void {
  Object.defineProperty(holder, 'create', {
    value: create,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

function resolveSettings(
  config: SwitchyardInstrumentationConfig,
  metrics: GenAiMetrics | undefined,
): CallSettings {
  const maxContentLength = config.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH;
  if (!Number.isInteger(maxContentLength) || maxContentLength < 0) {
    throw new RangeError(
      `SwitchyardOpenAIInstrumentation: maxContentLength must be a non-negative integer (characters), got ${String(config.maxContentLength)}; omit it for the default of ${DEFAULT_MAX_CONTENT_LENGTH}`,
    );
  }
  const priceTable = config.priceTable ?? defaultPriceTable;
  if (typeof priceTable?.cost !== 'function') {
    throw new TypeError(
      'SwitchyardOpenAIInstrumentation: priceTable must be a PriceTable (see createPriceTable()); omit it for the built-in prices',
    );
  }
  const envCapture = process.env[CAPTURE_ENV];
  if (envCapture !== undefined && !['true', 'false', ''].includes(envCapture.toLowerCase())) {
    diag.warn(
      `@switchyard/instrumentation: ${CAPTURE_ENV}=${envCapture} is not true or false; content capture stays off`,
    );
  }
  return Object.freeze({
    captureContent: config.captureMessageContent ?? envCapture?.toLowerCase() === 'true',
    maxContentLength,
    includeStreamUsage: config.includeStreamUsage ?? false,
    priceTable,
    metrics,
    now: () => performance.now(),
  });
}

import {
  type Attributes,
  createNoopMeter,
  type Meter,
  type ObservableResult,
  ValueType,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_TOKEN_TYPE,
  ATTR_SWITCHYARD_TASK_TYPE,
  GEN_AI_DURATION_BUCKETS,
  GEN_AI_TOKEN_TYPE_INPUT,
  GEN_AI_TOKEN_TYPE_OUTPUT,
  GEN_AI_TOKEN_USAGE_BUCKETS,
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  METRIC_SWITCHYARD_CLIENT_COST,
} from './semconv.js';

/** One finished model call, as the metrics see it. Every field is low-cardinality by design. */
export interface GenAiCallMeasurement {
  operation: string;
  provider: string;
  requestModel: string;
  responseModel?: string;
  agent?: string;
  task?: string;
  /** Set only when the call failed (the error class or HTTP status, as on the span). */
  errorType?: string;
  /** Wall time of the call in seconds (to the last chunk for streams). */
  durationS: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
}

/** The GenAI client metrics of one meter. */
export interface GenAiMetrics {
  /** Records one call: duration, token usage by type, and cost when known. */
  record(m: GenAiCallMeasurement): void;
}

// The API's no-op instruments share one class each; a meter that hands those out records
// nothing, so `record` can skip building attribute objects altogether.
const NOOP_HISTOGRAM_CLASS = createNoopMeter().createHistogram('noop').constructor;

const NOOP_METRICS: GenAiMetrics = Object.freeze({ record() {} });

/**
 * Creates the GenAI client instruments on `meter`: the histograms `gen_ai.client.token.usage`
 * and `gen_ai.client.operation.duration` with the conventions' bucket boundaries, and the
 * counter `switchyard.client.cost` in USD.
 *
 * @example
 * const metrics = createGenAiMetrics(meterProvider.getMeter('@switchyard/instrumentation'));
 * metrics.record({ operation: 'chat', provider: 'openai', requestModel: 'gpt-4o', durationS: 0.8 });
 */
export function createGenAiMetrics(meter: Meter): GenAiMetrics {
  const duration = meter.createHistogram(METRIC_GEN_AI_CLIENT_OPERATION_DURATION, {
    description: 'GenAI operation duration',
    unit: 's',
    advice: { explicitBucketBoundaries: [...GEN_AI_DURATION_BUCKETS] },
  });
  if (duration.constructor === NOOP_HISTOGRAM_CLASS) return NOOP_METRICS;
  const tokens = meter.createHistogram(METRIC_GEN_AI_CLIENT_TOKEN_USAGE, {
    description: 'Number of input and output tokens used',
    unit: '{token}',
    valueType: ValueType.INT,
    advice: { explicitBucketBoundaries: [...GEN_AI_TOKEN_USAGE_BUCKETS] },
  });
  // The cost counter is observed, not added to on every call: each attribute set keeps its running
  // sum here (one addition on the call's path) and the SDK reads the sums when it collects. A
  // synchronous `add` would hash the attribute set and look up its storage on every call; the
  // exported data is the same monotonic sum either way.
  const costTotals = new CostTotals();
  meter
    .createObservableCounter(METRIC_SWITCHYARD_CLIENT_COST, {
      description: 'Cost of GenAI calls according to the price table',
      unit: 'USD',
    })
    .addCallback((result) => costTotals.observe(result));

  // The SDK hashes the attribute set of every recording; handing it the same frozen objects for
  // the same (operation, model, agent, task, …) at least spares building and spreading three
  // objects per call, and keeps their shapes stable for the SDK's hashing.
  const attributeSets = new Map<string, CallAttributeSets>();
  // Consecutive calls mostly share their attributes (same agent, same model), so the last sets are
  // checked first: a few string comparisons instead of building and hashing a key.
  let last: CallAttributeSets | undefined;

  return {
    record(m) {
      let sets = last;
      if (sets === undefined || !sameFields(sets.fields, m)) {
        sets = attributeSetsOf(attributeSets, costTotals, m);
        last = sets;
      }
      if (Number.isFinite(m.durationS) && m.durationS >= 0) duration.record(m.durationS, sets.call);
      if (isCount(m.inputTokens)) tokens.record(m.inputTokens, sets.input);
      if (isCount(m.outputTokens)) tokens.record(m.outputTokens, sets.output);
      if (m.costUsd !== undefined && Number.isFinite(m.costUsd) && m.costUsd >= 0) {
        sets.cost.usd += m.costUsd;
        sets.cost.seen = true;
      }
    },
  };
}

/** The running cost of one attribute set, as the observable counter reports it. */
interface CostTotal {
  readonly attributes: Attributes;
  usd: number;
  /** False until a cost is known: a series with no priced call is not reported (not a zero). */
  seen: boolean;
}

// As the SDK's default cardinality limit: past this many series, new combinations share one
// series marked `otel.metric.overflow` rather than growing without bound. Totals are never
// dropped, since a cumulative sum that went back to zero would read as a counter reset.
const MAX_COST_SERIES = 2000;
const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({ 'otel.metric.overflow': true });

class CostTotals {
  private readonly byKey = new Map<string, CostTotal>();
  private overflow: CostTotal | undefined;

  /** The total of `key`, created on first use. */
  totalOf(key: string, attributes: Attributes): CostTotal {
    let total = this.byKey.get(key);
    if (total !== undefined) return total;
    if (this.byKey.size >= MAX_COST_SERIES) {
      this.overflow ??= { attributes: OVERFLOW_ATTRIBUTES, usd: 0, seen: false };
      return this.overflow;
    }
    total = { attributes, usd: 0, seen: false };
    this.byKey.set(key, total);
    return total;
  }

  observe(result: ObservableResult): void {
    for (const total of this.byKey.values()) {
      if (total.seen) result.observe(total.usd, total.attributes);
    }
    if (this.overflow?.seen) result.observe(this.overflow.usd, this.overflow.attributes);
  }
}

/** The attribute sets of one combination of call attributes: the call's, and per token type. */
interface CallAttributeSets {
  /** The measurement fields the sets were built from, to rule out a key collision. */
  readonly fields: readonly (string | undefined)[];
  readonly call: Attributes;
  readonly input: Attributes;
  readonly output: Attributes;
  /** The cost total of `call`'s series (shared with every later set of the same key). */
  readonly cost: CostTotal;
}

// Metric attributes are low-cardinality by design, so few combinations ever exist; the bound only
// guards against a caller that puts something unbounded in a model or agent name.
const MAX_ATTRIBUTE_SETS = 1024;

function attributeSetsOf(
  cache: Map<string, CallAttributeSets>,
  costTotals: CostTotals,
  m: GenAiCallMeasurement,
) {
  // \u0001 stands for "absent" (not the empty string). A name containing the separators could make
  // two combinations share a key, so a hit is checked against its fields before use.
  const key = `${m.operation}\u0000${m.provider}\u0000${m.requestModel}\u0000${m.responseModel ?? '\u0001'}\u0000${m.agent ?? '\u0001'}\u0000${m.task ?? '\u0001'}\u0000${m.errorType ?? '\u0001'}`;
  let sets = cache.get(key);
  if (sets === undefined || !sameFields(sets.fields, m)) {
    const call: Attributes = {
      [ATTR_GEN_AI_OPERATION_NAME]: m.operation,
      [ATTR_GEN_AI_PROVIDER_NAME]: m.provider,
      [ATTR_GEN_AI_REQUEST_MODEL]: m.requestModel,
    };
    if (m.responseModel !== undefined) call[ATTR_GEN_AI_RESPONSE_MODEL] = m.responseModel;
    if (m.agent !== undefined) call[ATTR_GEN_AI_AGENT_NAME] = m.agent;
    if (m.task !== undefined) call[ATTR_SWITCHYARD_TASK_TYPE] = m.task;
    if (m.errorType !== undefined) call[ATTR_ERROR_TYPE] = m.errorType;
    const frozenCall = Object.freeze(call);
    const fields = [
      m.operation,
      m.provider,
      m.requestModel,
      m.responseModel,
      m.agent,
      m.task,
      m.errorType,
    ];
    sets = Object.freeze({
      fields,
      call: frozenCall,
      input: Object.freeze({ ...call, [ATTR_GEN_AI_TOKEN_TYPE]: GEN_AI_TOKEN_TYPE_INPUT }),
      output: Object.freeze({ ...call, [ATTR_GEN_AI_TOKEN_TYPE]: GEN_AI_TOKEN_TYPE_OUTPUT }),
      // Keyed without separators, so no two combinations can ever share a running total.
      cost: costTotals.totalOf(JSON.stringify(fields), frozenCall),
    });
    if (cache.size >= MAX_ATTRIBUTE_SETS) cache.clear();
    cache.set(key, sets);
  }
  return sets;
}

function sameFields(f: readonly (string | undefined)[], m: GenAiCallMeasurement): boolean {
  return (
    f[0] === m.operation &&
    f[1] === m.provider &&
    f[2] === m.requestModel &&
    f[3] === m.responseModel &&
    f[4] === m.agent &&
    f[5] === m.task &&
    f[6] === m.errorType
  );
}

function isCount(n: number | undefined): n is number {
  return n !== undefined && Number.isFinite(n) && n >= 0;
}

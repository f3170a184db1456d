import { type Attributes, createNoopMeter, type Meter, ValueType } from '@opentelemetry/api';
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
  const cost = meter.createCounter(METRIC_SWITCHYARD_CLIENT_COST, {
    description: 'Cost of GenAI calls according to the price table',
    unit: 'USD',
  });

  return {
    record(m) {
      const attributes: Attributes = {
        [ATTR_GEN_AI_OPERATION_NAME]: m.operation,
        [ATTR_GEN_AI_PROVIDER_NAME]: m.provider,
        [ATTR_GEN_AI_REQUEST_MODEL]: m.requestModel,
      };
      if (m.responseModel !== undefined) attributes[ATTR_GEN_AI_RESPONSE_MODEL] = m.responseModel;
      if (m.agent !== undefined) attributes[ATTR_GEN_AI_AGENT_NAME] = m.agent;
      if (m.task !== undefined) attributes[ATTR_SWITCHYARD_TASK_TYPE] = m.task;
      if (m.errorType !== undefined) attributes[ATTR_ERROR_TYPE] = m.errorType;

      if (Number.isFinite(m.durationS) && m.durationS >= 0)
        duration.record(m.durationS, attributes);
      if (isCount(m.inputTokens)) {
        tokens.record(m.inputTokens, {
          ...attributes,
          [ATTR_GEN_AI_TOKEN_TYPE]: GEN_AI_TOKEN_TYPE_INPUT,
        });
      }
      if (isCount(m.outputTokens)) {
        tokens.record(m.outputTokens, {
          ...attributes,
          [ATTR_GEN_AI_TOKEN_TYPE]: GEN_AI_TOKEN_TYPE_OUTPUT,
        });
      }
      if (m.costUsd !== undefined && Number.isFinite(m.costUsd) && m.costUsd >= 0) {
        cost.add(m.costUsd, attributes);
      }
    },
  };
}

function isCount(n: number | undefined): n is number {
  return n !== undefined && Number.isFinite(n) && n >= 0;
}

import {
  type Attributes,
  context,
  isSpanContextValid,
  type Link,
  propagation,
  type SpanContext,
  SpanKind,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { getAgentScope } from './internal/agent-scope.js';
import {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_SWITCHYARD_FEEDBACK_RESPONSE_ID,
  ATTR_SWITCHYARD_FEEDBACK_SCORE,
  ATTR_SWITCHYARD_FEEDBACK_SOURCE,
  ATTR_SWITCHYARD_TASK_TYPE,
  BAGGAGE_SWITCHYARD_AGENT,
  BAGGAGE_SWITCHYARD_TASK,
  SCOPE_INSTRUMENTATION,
  SPAN_NAME_FEEDBACK,
} from './semconv.js';
import { PACKAGE_VERSION } from './version.js';

/** Options of {@link recordFeedback}. */
export interface FeedbackOptions {
  /** Who judged the call: `app` (default), `user`, `reviewer`, `validator`, `test`, … */
  source?: string;
  /**
   * Free text is deliberately not accepted: feedback spans must never carry prompt or answer
   * content. Put a short category in `source` instead.
   */
  comment?: never;
  /** The tracer to emit with. Defaults to the global tracer of `@switchyard/instrumentation`. */
  tracer?: Tracer;
}

export const DEFAULT_FEEDBACK_SOURCE = 'app';

// The global tracer is a proxy: created once here, it follows whatever provider is registered later.
const defaultTracer = trace.getTracer(SCOPE_INSTRUMENTATION, PACKAGE_VERSION);

/**
 * Records a quality judgement of one model call: a `switchyard.feedback` span carrying the score.
 * The sidecar's learner joins it to the call by the linked span id or by the response id.
 *
 * `target` is the call's `gen_ai.response.id` (what the SDK returns as `completion.id`) or the
 * call span's `SpanContext`. `score` runs from 0 (useless) to 1 (perfect); anything else throws.
 *
 * @example
 * const completion = await openai.chat.completions.create({ model: 'gpt-4o', messages });
 * recordFeedback(completion.id, reviewerApproved ? 1 : 0, { source: 'reviewer' });
 */
export function recordFeedback(
  target: string | SpanContext,
  score: number,
  options: FeedbackOptions = {},
): void {
  if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 1) {
    throw new RangeError(
      `recordFeedback: score must be a number from 0 to 1, got ${String(score)}; ` +
        'scale your rating first (e.g. stars / 5, or 1 for pass and 0 for fail)',
    );
  }
  const source = options.source ?? DEFAULT_FEEDBACK_SOURCE;
  if (typeof source !== 'string' || source.length === 0) {
    throw new TypeError('recordFeedback: options.source must be a non-empty string');
  }

  const attributes: Attributes = {
    [ATTR_SWITCHYARD_FEEDBACK_SCORE]: score,
    [ATTR_SWITCHYARD_FEEDBACK_SOURCE]: source,
  };
  let links: Link[] | undefined;
  if (typeof target === 'string') {
    if (target.length === 0) {
      throw new TypeError('recordFeedback: the response id is empty; pass `completion.id`');
    }
    attributes[ATTR_SWITCHYARD_FEEDBACK_RESPONSE_ID] = target;
  } else if (target !== null && typeof target === 'object' && isSpanContextValid(target)) {
    links = [{ context: target }];
  } else {
    throw new TypeError(
      'recordFeedback: target must be a response id (completion.id) or a valid SpanContext',
    );
  }

  // Who is judging: the enclosing withAgent/withTask scope, else what an upstream service put in
  // baggage. The learner keys on the judged call, so these are context for people reading traces.
  const active = context.active();
  const scope = getAgentScope(active);
  let agent = scope?.agent;
  let task = scope?.task;
  if (scope === undefined) {
    const baggage = propagation.getBaggage(active);
    agent = baggage?.getEntry(BAGGAGE_SWITCHYARD_AGENT)?.value;
    task = baggage?.getEntry(BAGGAGE_SWITCHYARD_TASK)?.value;
  }
  if (agent) attributes[ATTR_GEN_AI_AGENT_NAME] = agent;
  if (task) attributes[ATTR_SWITCHYARD_TASK_TYPE] = task;

  const tracer = options.tracer ?? defaultTracer;
  const span = tracer.startSpan(
    SPAN_NAME_FEEDBACK,
    links
      ? { kind: SpanKind.INTERNAL, attributes, links }
      : { kind: SpanKind.INTERNAL, attributes },
    active,
  );
  span.end();
}

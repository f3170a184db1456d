/**
 * The application: a content pipeline of four agents — research, outline, draft, refine — and a
 * reviewer that scores each agent's answer. Every step is an ordinary `openai` SDK call made
 * inside `withAgent({ name, task })`, the whole run inside `withWorkflow('content-pipeline')`;
 * the reviewer's score goes back to the call it judged with `recordFeedback(completion.id, ...)`.
 *
 * Nothing here knows about the sidecar or the demo's fake provider: the client's `baseURL`
 * decides where calls go (the sidecar), and the telemetry setup (`telemetry.mjs`) decides where
 * spans go. The sidecar reads the answer headers it sets (`x-switchyard-model`, `-rule`,
 * `-route-reason`, `-cache`) only so that this module can report what happened.
 */
import { recordFeedback, withAgent, withWorkflow } from '@switchyard/instrumentation';
import {
  HEADER_SWITCHYARD_CACHE,
  HEADER_SWITCHYARD_MODEL,
  HEADER_SWITCHYARD_ROUTE_REASON,
  HEADER_SWITCHYARD_RULE,
} from '@switchyard/instrumentation/semconv';

/** The four agents, in order. `task` is the task type the sidecar learns per agent. */
export const PIPELINE_STEPS = [
  {
    agent: 'research',
    task: 'notes',
    system:
      'You are the research agent of a small content team. Collect the facts, figures and open ' +
      'questions a writer needs on the topic, as terse bullet notes with their sources.',
    prompt: (topic) => `Topic: ${topic}\n\nWrite the research notes.`,
  },
  {
    agent: 'outline',
    task: 'outline',
    system:
      'You are the outline agent of a small content team. Turn research notes into the outline ' +
      'of a 1,000-word article: a title, five to seven sections, one line each on what they argue.',
    prompt: (topic, done) => `Topic: ${topic}\n\nResearch notes:\n${done.research}`,
  },
  {
    agent: 'draft',
    task: 'write',
    // The long answer is streamed, as a writing tool would show it while it is written.
    stream: true,
    system:
      'You are the draft agent of a small content team. Write the full article from the outline ' +
      'and the notes, in plain, concrete prose.',
    prompt: (topic, done) =>
      `Topic: ${topic}\n\nOutline:\n${done.outline}\n\nResearch notes:\n${done.research}`,
  },
  {
    agent: 'refine',
    task: 'edit',
    system:
      'You are the refine agent of a small content team. Edit the draft for accuracy, flow and ' +
      'tone; keep every claim backed by the notes. Return the final article.',
    prompt: (topic, done) => `Topic: ${topic}\n\nDraft:\n${done.draft}`,
  },
];

const REVIEW_SYSTEM =
  'You are the reviewer of a small content team. Judge how well the answer does its job for the ' +
  'brief: correct, complete, well written. Reply with JSON only: {"score": <0-10>, "reason": "<short>"}.';

/** The reviewer's 0-10 score as 0..1, or undefined when the reply holds no score. */
export function parseScore(text) {
  if (typeof text !== 'string') return undefined;
  let score;
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed?.score === 'number') score = parsed.score;
  } catch {
    const m = /(\d+(?:\.\d+)?)\s*(?:\/|out of)\s*10/.exec(text);
    if (m) score = Number(m[1]);
  }
  if (score === undefined || !Number.isFinite(score) || score < 0 || score > 10) return undefined;
  return score / 10;
}

/** What one call did, as the application saw it (no prompt or answer text). */
function describe(agent, task, requested, data, response) {
  const usage = data.usage ?? {};
  return {
    agent,
    task,
    requestedModel: requested,
    // The model that answered: the sidecar says so in a header; without a sidecar, the body does.
    servedModel: response.headers.get(HEADER_SWITCHYARD_MODEL) ?? data.model,
    responseModel: data.model,
    routeReason: response.headers.get(HEADER_SWITCHYARD_ROUTE_REASON) ?? 'none',
    ruleId: response.headers.get(HEADER_SWITCHYARD_RULE) ?? 'none',
    cache: response.headers.get(HEADER_SWITCHYARD_CACHE) ?? 'none',
    responseId: data.id,
    inputTokens: usage.prompt_tokens ?? 0,
    outputTokens: usage.completion_tokens ?? 0,
  };
}

async function complete(openai, request) {
  if (!request.stream) {
    const { data, response } = await openai.chat.completions.create(request).withResponse();
    return { data, response, text: data.choices[0]?.message?.content ?? '' };
  }
  const { data: stream, response } = await openai.chat.completions
    .create({ ...request, stream_options: { include_usage: true } })
    .withResponse();
  let text = '';
  let id = '';
  let model = request.model;
  let usage;
  for await (const chunk of stream) {
    id ||= chunk.id;
    model = chunk.model ?? model;
    if (chunk.usage) usage = chunk.usage;
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  return { data: { id, model, usage }, response, text };
}

/**
 * The pipeline over an `openai` client (instrumented by the caller's telemetry setup).
 *
 * @example
 * const pipeline = createPipeline({ openai });
 * const run = await pipeline.run('How trace-based routing cuts LLM bills');
 * // run.steps: [{ agent, task, requestedModel, servedModel, ruleId, score, ... }, ...]
 */
export function createPipeline({ openai, model = 'gpt-4o', reviewerModel = 'gpt-4o-mini' }) {
  async function review(step, text) {
    const verdict = await withAgent({ name: 'reviewer', task: 'review' }, async () => {
      const r = await complete(openai, {
        model: reviewerModel,
        response_format: { type: 'json_object' },
        messages: [
          { role: 'system', content: REVIEW_SYSTEM },
          { role: 'user', content: `Job: ${step.agent} (${step.task})\n\nAnswer:\n${text}` },
        ],
      });
      return {
        call: describe('reviewer', 'review', reviewerModel, r.data, r.response),
        text: r.text,
      };
    });
    const score = parseScore(verdict.text);
    // The application's own quality signal, joined by the sidecar to the call it judges.
    if (score !== undefined) recordFeedback(step.responseId, score, { source: 'reviewer' });
    return { score, call: verdict.call };
  }

  return {
    /** Runs the four agents on `topic`; each answer is reviewed while the next agent works. */
    run(topic) {
      return withWorkflow('content-pipeline', async () => {
        const done = {};
        const steps = [];
        const reviews = [];
        for (const s of PIPELINE_STEPS) {
          const { call, text } = await withAgent({ name: s.agent, task: s.task }, async () => {
            const r = await complete(openai, {
              model,
              stream: s.stream === true,
              messages: [
                { role: 'system', content: s.system },
                { role: 'user', content: s.prompt(topic, done) },
              ],
            });
            return { call: describe(s.agent, s.task, model, r.data, r.response), text: r.text };
          });
          done[s.agent] = text;
          steps.push(call);
          reviews.push(review(call, text));
        }
        const verdicts = await Promise.all(reviews);
        return {
          topic,
          steps: steps.map((step, i) => ({ ...step, score: verdicts[i].score })),
          reviews: verdicts.map((v) => v.call),
        };
      });
    },
  };
}

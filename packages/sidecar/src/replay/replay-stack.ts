/**
 * The real stack the replay runs on, in this process: the sidecar exactly as `startSidecar`
 * builds it (config, router, upstream client, rule store), with span intake and the learner
 * plugged in, pointed at the replay provider; and the instrumented application side.
 *
 * The sidecar gets a clean environment (no `REDIS_URL`, no `OTEL_*`): a replay is a measurement
 * and must not touch shared state or a real backend. Its cache is off (routing is what is
 * measured), its log is silent, and learning settings come through the same config file
 * section (`learning`) an operator would write.
 */

import { loadConfig } from '../config/load-config.js';
import { createTraceIntake, type TraceIntake } from '../intake/trace-intake.js';
import { createLearner, type Learner } from '../learning/learner.js';
import { type SidecarPlugin, startSidecar } from '../main.js';
import { startReplayApplication } from './replay-application.js';
import type { ReplaySidecar, ReplaySidecarOptions, ReplayStackFactory } from './replay-run.js';

/**
 * Starts the sidecar for a replay.
 *
 * @example const sidecar = await startReplaySidecar({ upstreamUrl, baseline, candidates, ... });
 */
export async function startReplaySidecar(options: ReplaySidecarOptions): Promise<ReplaySidecar> {
  let learner: Learner | undefined;
  let intake: TraceIntake | undefined;
  const learning: SidecarPlugin = {
    name: 'learning',
    createHandlers(ctx) {
      const l = ctx.config.learning;
      learner = createLearner({
        store: ctx.ruleStore,
        prices: options.pricing.table,
        now: ctx.now,
        config: {
          mode: l.mode,
          tolerance: l.tolerance,
          ladders: Object.entries(l.ladders).map(([from, to]) => ({ from, to })),
        },
        onError: (error) =>
          ctx.logger.log('warn', 'learner evaluation failed', {
            error: error instanceof Error ? error.message : String(error),
          }),
      });
      intake = createTraceIntake({ sink: learner, now: ctx.now });
      const ownLearner = learner;
      const ownIntake = intake;
      return {
        traceIntake: ownIntake.handle,
        async close() {
          await ownIntake.close();
          await ownLearner.close();
        },
      };
    },
  };
  const config = loadConfig({
    argv: [
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--upstream-url',
      options.upstreamUrl,
      '--learning-mode',
      options.mode,
      '--tolerance',
      String(options.tolerance),
      '--log-level',
      'silent',
    ],
    env: { SWITCHYARD_CACHE: 'false' },
    file: {
      learning: { ladders: { [options.baseline]: [...options.candidates] } },
    },
  });
  const sidecar = await startSidecar({
    config,
    plugins: [learning],
    env: {},
    now: options.now,
    random: options.random,
  });
  return {
    baseUrl: sidecar.baseURL,
    tracesUrl: `${sidecar.url}/v1/traces`,
    rules: () => sidecar.ruleStore.snapshot(),
    evaluate: () => learner?.evaluate() ?? Promise.resolve(),
    close: () => sidecar.close(),
  };
}

/** The stack `switchyard replay` uses. */
export const defaultReplayStack: ReplayStackFactory = {
  startSidecar: startReplaySidecar,
  startApplication: (options) => startReplayApplication(options),
};

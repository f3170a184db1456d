/**
 * The real stack the replay runs on, in this process: the sidecar exactly as `switchyard start`
 * builds it (`startSidecar` with the learning plugin: rule store, span intake, learner, rules
 * API), pointed at the replay provider; and the instrumented application side.
 *
 * The sidecar gets a clean environment (no `REDIS_URL`, no `OTEL_*`) and a fresh temporary state
 * folder: a replay is a measurement and must not touch shared state or a real backend. Its
 * cache is off (routing is what is measured), its log is silent, and learning settings come
 * through the same config file section (`learning`) an operator would write.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load-config.js';
import { createLearningPlugin } from '../learning/learning-plugin.js';
import { startSidecar } from '../main.js';
import { startReplayApplication } from './replay-application.js';
import type { ReplaySidecar, ReplaySidecarOptions, ReplayStackFactory } from './replay-run.js';

/**
 * Starts the sidecar for a replay.
 *
 * @example const sidecar = await startReplaySidecar({ upstreamUrl, baseline, candidates, ... });
 */
export async function startReplaySidecar(options: ReplaySidecarOptions): Promise<ReplaySidecar> {
  // A fresh state folder per run: the rule snapshot of an earlier run must not seed this one.
  const stateDir = await mkdtemp(join(tmpdir(), 'switchyard-replay-'));
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
    env: { SWITCHYARD_CACHE: 'false', SWITCHYARD_STATE_DIR: stateDir },
    file: {
      learning: {
        ladders: { [options.baseline]: [...options.candidates] },
        // Decisions every 25 verdicts only (the learner's default count), not also on its 1 s
        // timer: simulated time passes 1 s per call, so the timer would fire at a point that
        // depends on how fast this machine replays, and the same seed would decide differently.
        evaluateIntervalMs: 0,
      },
    },
  });
  try {
    const sidecar = await startSidecar({
      config,
      // The same learning plugin `switchyard start` runs, with the replay's prices.
      plugins: [createLearningPlugin({ prices: options.pricing.table })],
      env: {},
      now: options.now,
      random: options.random,
    });
    return {
      baseUrl: sidecar.baseURL,
      tracesUrl: `${sidecar.url}/v1/traces`,
      rules: () => sidecar.ruleStore.snapshot(),
      async close() {
        await sidecar.close();
        await rm(stateDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
}

/** The stack `switchyard replay` uses. */
export const defaultReplayStack: ReplayStackFactory = {
  startSidecar: startReplaySidecar,
  // With synced rounds the spans leave at each round's flush only: a scheduled export in the
  // middle of a round would hand the learner part of the round at a wall-clock-dependent point.
  startApplication: (options) =>
    startReplayApplication({
      ...options,
      ...((options.syncEvery ?? 0) > 0 ? { exportDelayMs: 600_000 } : {}),
    }),
};

/**
 * The learning loop as a sidecar plugin: it picks the rule store (Redis when `REDIS_URL` is set,
 * else the snapshot file under `stateDir`), builds the statistics store, the learner, the span
 * intake that feeds it, the rules API and the dashboard, and closes them in order on shutdown.
 *
 * `main.ts`/`switchyard start` only has to pass `plugins: [createLearningPlugin()]`.
 */
import { join } from 'node:path';
import { createDashboard } from '../admin/dashboard.js';
import { createRulesApi } from '../admin/rules-api.js';
import { createTraceIntake } from '../intake/trace-intake.js';
import type { SidecarPlugin, SidecarPluginContext } from '../main.js';
import type { RuleStore } from '../routing/rule.js';
import { openFileSnapshotRuleStore } from '../rules/file-snapshot-rule-store.js';
import { openRedisRuleStore } from '../rules/redis-rule-store.js';
import { createLearner, type Learner } from './learner.js';
import { learningConfigFromSidecar, resolveLearningConfig } from './learning-config.js';
import type { ModelPrices } from './model-prices.js';
import { createRedisStatsStore } from './redis-stats-store.js';
import { shadowJudgeFromSidecar } from './shadow-judge-config.js';
import { createShadowJudging, type ShadowJudging } from './shadow-judging.js';
import { createMemoryStatsStore, type MemoryStatsStore, type StatsStore } from './stats-store.js';

export interface LearningPluginOptions {
  /** Prices for savings and decisions. Defaults to the instrumentation's table with the config's overrides. */
  readonly prices?: ModelPrices;
  /** The snapshot file without Redis. Defaults to `<stateDir>/rules.json`. */
  readonly snapshotPath?: string;
  /** Shadow judging's HTTP client (baseline and judge calls). Defaults to the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Uniform in [0, 1): which routed answers are judged. Defaults to `Math.random`. */
  readonly random?: () => number;
  /** Where `learning.shadowJudge.apiKeyEnv` is read. Defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * @example await startSidecar({ argv, env, plugins: [createLearningPlugin()] });
 */
export function createLearningPlugin(options: LearningPluginOptions = {}): SidecarPlugin {
  let memoryStats: MemoryStatsStore | undefined;
  let stats: StatsStore | undefined;

  function window(ctx: SidecarPluginContext) {
    const c = resolveLearningConfig(learningConfigFromSidecar(ctx.config.learning));
    return {
      config: c,
      window: {
        bucketMs: c.bucketMs,
        buckets: c.buckets,
        maxSamplesPerArm: c.maxSamplesPerArm,
        maxGroups: c.maxGroups,
      },
    };
  }

  const warn = (ctx: SidecarPluginContext, what: string) => (error: unknown) =>
    ctx.logger.log('warn', what, { error: error instanceof Error ? error.message : String(error) });

  return {
    name: 'learning',
    async createRuleStore(ctx): Promise<RuleStore> {
      const { window: w, config } = window(ctx);
      if (ctx.redis !== undefined) {
        stats = createRedisStatsStore({
          client: ctx.redis.client,
          keyPrefix: ctx.config.redisKeyPrefix,
          ...w,
          onError: warn(ctx, 'learning statistics: redis error'),
        });
        return openRedisRuleStore({
          client: ctx.redis.client,
          keyPrefix: ctx.config.redisKeyPrefix,
          maxHistory: config.maxHistory,
          now: ctx.now,
          onError: warn(ctx, 'rule store: redis error; serving the last rules'),
        });
      }
      memoryStats = createMemoryStatsStore(w);
      stats = memoryStats;
      return openFileSnapshotRuleStore({
        path: options.snapshotPath ?? join(ctx.config.stateDir, 'rules.json'),
        stats: memoryStats,
        maxHistory: config.maxHistory,
        now: ctx.now,
        onError: warn(ctx, 'rule snapshot file'),
      });
    },
    async createHandlers(ctx) {
      const { config } = window(ctx);
      if (ctx.config.learning.dryRun) await ctx.ruleStore.setDryRun(true);
      let prices = options.prices;
      if (prices === undefined) {
        const { createPriceTable } = await import('@switchyard/instrumentation/pricing');
        prices = createPriceTable({ overrides: { ...ctx.config.prices } });
      }
      let learner: Learner | undefined;
      if (config.enabled) {
        learner = createLearner({
          store: ctx.ruleStore,
          ...(stats !== undefined ? { stats } : {}),
          prices,
          config,
          now: ctx.now,
          onError: warn(ctx, 'learner evaluation failed'),
        });
      }
      const sink = learner ?? { recordCall() {}, recordVerdict() {} };
      // Shadow judging only when configured and there is a learner to take its verdicts.
      const judgeSettings = shadowJudgeFromSidecar(
        ctx.config.learning.raw,
        options.env ?? process.env,
      );
      let judging: ShadowJudging | undefined;
      if (judgeSettings !== undefined && learner !== undefined) {
        judging = createShadowJudging({
          settings: judgeSettings,
          upstreamUrl: ctx.config.upstreamUrl,
          providers: ctx.config.providers,
          sink: learner,
          prices,
          fetch: options.fetch ?? globalThis.fetch,
          now: ctx.now,
          random: options.random ?? Math.random,
          logger: ctx.logger,
        });
      }
      if (judging !== undefined) ctx.metrics.watchShadowJudging(judging);
      const intake = createTraceIntake({ sink, now: ctx.now });
      ctx.metrics.watchTraceIntake(() => intake.stats());
      const report = learner?.report;
      const admin = createRulesApi({
        store: ctx.ruleStore,
        ...(report !== undefined ? { report } : {}),
        staticRules: ctx.config.rules,
        staticPins: ctx.config.pins,
      });
      const dashboard = createDashboard({
        store: ctx.ruleStore,
        ...(report !== undefined ? { report } : {}),
        staticRules: ctx.config.rules,
        now: ctx.now,
      });
      return {
        traceIntake: intake.handle,
        admin,
        dashboard,
        ...(judging !== undefined ? { routedAnswer: judging } : {}),
        async close() {
          await judging?.close();
          await intake.close();
          await learner?.close();
          await stats?.close();
        },
      };
    },
  };
}

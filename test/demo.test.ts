/**
 * The product demo end to end, as a user runs it: `examples/content-pipeline/demo.mjs` in its own
 * process against the BUILT packages (`npm run build`, which `npm test` does first). The demo
 * starts a fake provider, the sidecar with the learning plugin and the instrumented pipeline, all
 * on 127.0.0.1; the assertions read the report it writes with `--json`.
 *
 * Also the standalone entry `main.mjs` (what docker compose runs) against the built `switchyard`
 * CLI in a separate process, configured only by environment variables.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider } from '../examples/content-pipeline/fake-provider.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const demo = join(root, 'examples/content-pipeline/demo.mjs');
const main = join(root, 'examples/content-pipeline/main.mjs');
const cli = join(root, 'packages/sidecar/dist/cli.js');

/** The caller's environment without anything that would point the demo at a real backend. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('OTEL_') || k.startsWith('OPENAI_') || k.startsWith('SWITCHYARD_')) continue;
    if (k === 'REDIS_URL') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function node(args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      args,
      { env, cwd: root, maxBuffer: 16 * 1024 * 1024, timeout: 85_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        done({ code, stdout, stderr });
      },
    );
  });
}

interface SpendRow {
  agent: string;
  task: string;
  model: string;
  calls: number;
  costUsd: number;
}

interface DemoReport {
  spend: SpendRow[];
  spendApp: SpendRow[];
  options: { iterations: number; mode: string; tolerance: number };
  calls: { app: number; agentSteps: number; reviews: number; sidecarCounted: number };
  providerByModel?: Record<string, number>;
  rules: {
    agent: string;
    task: string;
    kind: string;
    targetModel: string;
    share: number;
    evidence: { confidence: number; candidateSamples: number; baselineSamples: number } | null;
  }[];
  tasks: { agent: string; task: string; state: string }[];
  cost: { actualUsd: number; allRequestedUsd: number; savedShare: number };
  sidecar: { totals: { calls: number; costUsd: number; savedUsd: number } | null };
  quality: { overallKept: number | null };
}

describe('npm run demo (examples/content-pipeline/demo.mjs, built packages)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sy-demo-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('per-task: spans reach the sidecar, the as-good task is downgraded, the clearly worse one is not, the run costs less', async () => {
    const json = join(dir, 'per-task.json');
    const r = await node(
      [demo, '--iterations', '200', '--mode', 'per-task', '--tolerance', '0.05', '--json', json],
      cleanEnv(),
    );
    expect(r.stderr).not.toMatch(/demo failed/);
    expect(r.code).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as DemoReport;

    // Every call the pipeline made reached the sidecar as a span over OTLP/HTTP and was counted.
    expect(report.calls.agentSteps).toBe(200 * 4);
    expect(report.calls.reviews).toBe(200 * 4);
    expect(report.calls.sidecarCounted).toBeGreaterThan(0);
    expect(report.calls.sidecarCounted).toBe(report.calls.app);
    // The sidecar's cost, counted from the spans, is the application's own bill, row by row.
    expect(report.sidecar.totals?.costUsd).toBeCloseTo(report.cost.actualUsd, 6);
    const row = (rows: SpendRow[], agent: string, model: string) =>
      rows.find((x) => x.agent === agent && x.model === model);
    for (const agent of ['research', 'outline', 'draft', 'refine']) {
      for (const model of ['gpt-4o', 'gpt-4o-mini']) {
        expect(row(report.spend, agent, model)?.calls).toBe(
          row(report.spendApp, agent, model)?.calls,
        );
        expect(row(report.spend, agent, model)?.costUsd).toBeCloseTo(
          row(report.spendApp, agent, model)?.costUsd ?? Number.NaN,
          9,
        );
      }
    }
    expect(row(report.spend, 'research', 'gpt-4o-mini')?.calls).toBeGreaterThan(100);

    // research: gpt-4o-mini is as good in the fake world → a full downgrade with its evidence.
    const research = report.rules.find((x) => x.agent === 'research');
    expect(research).toMatchObject({ kind: 'downgrade', targetModel: 'gpt-4o-mini', share: 1 });
    expect(research?.evidence?.confidence).toBeGreaterThanOrEqual(0.9);
    expect(research?.evidence?.candidateSamples).toBeGreaterThanOrEqual(20);
    // refine: clearly worse → no rule at all once the canary has seen enough.
    expect(report.rules.find((x) => x.agent === 'refine')).toBeUndefined();
    expect(report.tasks.find((t) => t.agent === 'refine')?.state).toBe('kept');

    expect(report.cost.actualUsd).toBeLessThan(report.cost.allRequestedUsd);
    expect(report.quality.overallKept).toBeGreaterThan(0.95);

    // The people-facing report says the same.
    expect(r.stdout).toContain('Rules the sidecar learned');
    expect(r.stdout).toMatch(/research\/notes: gpt-4o → gpt-4o-mini, downgrade/);
    expect(r.stdout).not.toMatch(/refine\/edit: gpt-4o → gpt-4o-mini/);
  }, 90_000);

  it('budget: learns rules and costs less than every call on the requested model', async () => {
    const json = join(dir, 'budget.json');
    const r = await node(
      [demo, '--iterations', '100', '--mode', 'budget', '--json', json, '--quiet'],
      cleanEnv(),
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as DemoReport;
    expect(report.options.mode).toBe('budget');
    expect(report.calls.sidecarCounted).toBe(report.calls.app);
    expect(report.rules.some((x) => x.kind === 'downgrade')).toBe(true);
    expect(report.cost.savedShare).toBeGreaterThan(0);
  }, 90_000);

  it('a bad option is a usage error that names it (exit 2)', async () => {
    const r = await node([demo, '--mode', 'fastest'], cleanEnv());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--mode must be per-task or budget');
  });
});

describe('examples/content-pipeline/main.mjs against the built switchyard CLI', () => {
  let provider: Awaited<ReturnType<typeof startFakeProvider>>;
  let sidecar: ChildProcess;
  let url: string;
  let stateDir: string;

  beforeAll(async () => {
    provider = await startFakeProvider({ seed: 7 });
    stateDir = await mkdtemp(join(tmpdir(), 'sy-demo-main-'));
    sidecar = spawn(
      process.execPath,
      [cli, 'start', '--port', '0', '--upstream-url', provider.baseURL, '--state-dir', stateDir],
      { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    url = await new Promise<string>((done, fail) => {
      let out = '';
      sidecar.stdout?.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
        if (m?.[1]) done(m[1]);
      });
      sidecar.once('exit', (code) => fail(new Error(`sidecar exited with ${code}: ${out}`)));
    });
  });
  afterAll(async () => {
    if (sidecar.exitCode === null) {
      const exited = new Promise((r) => sidecar.once('exit', r));
      sidecar.kill('SIGTERM');
      await exited;
    }
    await provider.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('runs the pipeline through the sidecar; its spans and feedback arrive by OTLP', async () => {
    const r = await node(
      [main, '--iterations', '2'],
      cleanEnv({
        OPENAI_BASE_URL: `${url}/v1`,
        OPENAI_API_KEY: 'sk-test',
        OTEL_EXPORTER_OTLP_ENDPOINT: url,
      }),
    );
    expect(r.stderr).not.toMatch(/content-pipeline:|Error/);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^ {2}(research|outline|draft|refine) /gm)).toHaveLength(8);
    expect(provider.calls()['gpt-4o']).toBeGreaterThanOrEqual(6);

    // The learner reports at its next evaluation (every second by default).
    type Listing = {
      learning: {
        totals: { calls: number };
        tasks: { agent: string; arms: { judged: number }[] }[];
      } | null;
    };
    let listing: Listing | undefined;
    for (let i = 0; i < 50; i++) {
      listing = (await (await fetch(`${url}/switchyard/rules`)).json()) as Listing;
      if ((listing.learning?.totals.calls ?? 0) >= 16) break;
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
    expect(listing?.learning?.totals.calls).toBe(16);
    const judged = (agent: string) =>
      listing?.learning?.tasks
        .filter((t) => t.agent === agent)
        .reduce((a, t) => a + t.arms.reduce((b, arm) => b + arm.judged, 0), 0);
    for (const agent of ['research', 'outline', 'draft', 'refine']) expect(judged(agent)).toBe(2);
  });

  it('without OPENAI_API_KEY it says what to set (exit 2)', async () => {
    const r = await node([main], cleanEnv({ OPENAI_BASE_URL: `${url}/v1` }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('OPENAI_API_KEY is not set');
  });
});

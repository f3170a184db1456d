/**
 * Shadow judging end to end: the real `openai` SDK calls the sidecar (learning plugin on), a
 * static rule routes task X from gpt-4o to gpt-4o-mini, and the fake upstream on a real socket
 * serves both models and the judge (gpt-4o, told apart by the judge's instructions). No spans
 * are sent in these tests, so a judged sample in the learner's statistics can only have come
 * from the judge (`source: 'judge'`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { createLearningPlugin } from '../src/learning/learning-plugin.js';
import { shadowJudgeFromSidecar } from '../src/learning/shadow-judge-config.js';
import { type RunningSidecar, startSidecar } from '../src/main.js';
import {
  completion,
  type FakeUpstream,
  type RecordedRequest,
  startFakeUpstream,
} from './proxy-fixtures.js';

const JUDGE_MARK = 'You compare two answers';

function isJudge(r: RecordedRequest): boolean {
  const messages = r.body?.messages as { content?: unknown }[] | undefined;
  const first = messages?.[0]?.content;
  return typeof first === 'string' && first.startsWith(JUDGE_MARK);
}

let upstream: FakeUpstream;
// Each sidecar keeps its rules snapshot in its own directory, so no run sees another's verdicts.
const stateDirs: string[] = [];
let judgeStatus = 200;
let judgeReply = '{"score": 0.25}';

beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream.close();
  for (const d of stateDirs) rmSync(d, { recursive: true, force: true });
});

function useJudgingUpstream(): void {
  upstream.behavior = (rec, res) => {
    if (!isJudge(rec)) return false;
    res.writeHead(judgeStatus, { 'content-type': 'application/json' });
    res.end(
      judgeStatus === 200
        ? JSON.stringify(completion('gpt-4o', judgeReply))
        : JSON.stringify({ error: { message: 'judge down', type: 'server_error' } }),
    );
    return true;
  };
}

async function start(shadowJudge?: Record<string, unknown>): Promise<RunningSidecar> {
  const stateDir = mkdtempSync(join(tmpdir(), 'sy-judge-e2e-'));
  stateDirs.push(stateDir);
  const env = {
    SWITCHYARD_LOG_LEVEL: 'silent',
    SWITCHYARD_CACHE: 'false',
    SWITCHYARD_STATE_DIR: stateDir,
  };
  const config = loadConfig({
    argv: ['--port', '0', '--host', '127.0.0.1', '--upstream-url', upstream.baseURL],
    env,
    file: {
      rules: [
        { id: 'x-to-mini', match: { task: 'X', model: 'gpt-4o' }, targetModel: 'gpt-4o-mini' },
      ],
      learning: {
        evaluateIntervalMs: 50,
        ...(shadowJudge !== undefined ? { shadowJudge } : {}),
      },
    },
  });
  return startSidecar({ config, env, plugins: [createLearningPlugin({ env: {} })] });
}

async function ask(sidecar: RunningSidecar, content: string) {
  const client = new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk-caller', maxRetries: 0 });
  return client.chat.completions.create(
    { model: 'gpt-4o', messages: [{ role: 'user', content }] },
    { headers: { 'x-switchyard-agent': 'writer', 'x-switchyard-task': 'X' } },
  );
}

interface Arm {
  model: string;
  judged: number;
  quality: number | null;
}

async function miniArm(sidecar: RunningSidecar): Promise<Arm | undefined> {
  const res = await fetch(`${sidecar.url}/switchyard/rules`);
  const json = (await res.json()) as {
    learning: { tasks: { agent: string; task: string; model: string; arms: Arm[] }[] } | null;
  };
  const task = json.learning?.tasks.find((t) => t.task === 'X' && t.model === 'gpt-4o');
  return task?.arms.find((a) => a.model === 'gpt-4o-mini');
}

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('shadow judging through the proxy', () => {
  let sidecar: RunningSidecar | undefined;
  afterEach(async () => {
    await sidecar?.close();
    sidecar = undefined;
    upstream.behavior = undefined;
    upstream.requests.length = 0;
    judgeStatus = 200;
    judgeReply = '{"score": 0.25}';
  });

  it('asks the baseline, sends both answers to the judge, and the verdict reaches the learner', async () => {
    useJudgingUpstream();
    sidecar = await start({ model: 'gpt-4o', sampleRate: 1 });
    const answer = await ask(sidecar, 'Summarise the minutes');
    expect(answer.model).toBe('gpt-4o-mini');
    expect(answer.choices[0]?.message.content).toBe('answer from gpt-4o-mini');

    const arm = await until(async () => {
      const a = await miniArm(sidecar as RunningSidecar);
      return a !== undefined && a.judged >= 1 ? a : undefined;
    }, 'the judge verdict in the learner report');
    expect(arm.judged).toBe(1);
    expect(arm.quality).toBeCloseTo(0.25, 6);

    const calls = upstream.requests.map((r) => ({ model: r.body?.model, judge: isJudge(r) }));
    expect(calls).toEqual([
      { model: 'gpt-4o-mini', judge: false },
      { model: 'gpt-4o', judge: false },
      { model: 'gpt-4o', judge: true },
    ]);
    const baseline = upstream.requests[1] as RecordedRequest;
    expect(baseline.headers.authorization).toBe('Bearer sk-caller');
    expect(baseline.body?.messages).toEqual([{ role: 'user', content: 'Summarise the minutes' }]);
    const judge = upstream.requests[2] as RecordedRequest;
    const judgeMessages = (judge.body?.messages ?? []) as { content: string }[];
    const prompt = judgeMessages[1]?.content ?? '';
    expect(prompt).toContain('Summarise the minutes');
    expect(prompt).toContain('REFERENCE:\nanswer from gpt-4o\n');
    expect(prompt).toContain('CANDIDATE:\nanswer from gpt-4o-mini');
  });

  it('makes no extra upstream calls without a judge configured', async () => {
    sidecar = await start();
    for (let i = 0; i < 3; i++) {
      const a = await ask(sidecar, `question ${i}`);
      expect(a.model).toBe('gpt-4o-mini');
    }
    await sidecar.close();
    expect(upstream.requests.map((r) => r.body?.model)).toEqual([
      'gpt-4o-mini',
      'gpt-4o-mini',
      'gpt-4o-mini',
    ]);
  });

  it('does not judge answers the requested model served itself', async () => {
    useJudgingUpstream();
    sidecar = await start({ model: 'gpt-4o', sampleRate: 1 });
    const client = new OpenAI({ baseURL: sidecar.baseURL, apiKey: 'sk-caller', maxRetries: 0 });
    await client.chat.completions.create(
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-switchyard-task': 'Y' } },
    );
    await sidecar.close();
    expect(upstream.requests.map((r) => r.body?.model)).toEqual(['gpt-4o']);
  });

  it('a failing judge never affects the client and records no verdict', async () => {
    useJudgingUpstream();
    judgeStatus = 500;
    sidecar = await start({ model: 'gpt-4o', sampleRate: 1 });
    const answer = await ask(sidecar, 'Summarise the minutes');
    expect(answer.choices[0]?.message.content).toBe('answer from gpt-4o-mini');
    await until(
      async () => (upstream.requests.some(isJudge) ? true : undefined),
      'the judge to be asked',
    );
    // A second request is served normally while the judge keeps failing.
    const again = await ask(sidecar, 'Summarise the agenda');
    expect(again.model).toBe('gpt-4o-mini');
    const s = sidecar;
    sidecar = undefined;
    const report = await fetch(`${s.url}/switchyard/rules`).then((r) => r.json());
    await s.close();
    const tasks = (report as { learning: { tasks: { arms: Arm[] }[] } }).learning.tasks;
    const judged = tasks.flatMap((t) => t.arms).reduce((n, a) => n + a.judged, 0);
    expect(judged).toBe(0);
  });

  it('stops judging once the spend cap is used up (baseline and judge both count)', async () => {
    useJudgingUpstream();
    // One baseline gpt-4o call (1000 in, 500 out) costs $0.0075 and so does the judge's:
    // the first judgement spends $0.015 and uses up a $0.01 cap.
    sidecar = await start({ model: 'gpt-4o', sampleRate: 1, maxSpendUsdPerDay: 0.01 });
    await ask(sidecar, 'first');
    await until(async () => {
      const a = await miniArm(sidecar as RunningSidecar);
      return a !== undefined && a.judged >= 1 ? a : undefined;
    }, 'the first verdict');
    await ask(sidecar, 'second');
    await ask(sidecar, 'third');
    // /metrics shows the outcomes and the day's spend (the cap's window).
    const text = await (await fetch(`${sidecar.url}/metrics`)).text();
    expect(text).toMatch(/^switchyard_shadow_judge_outcomes_total\{outcome="judged"\} 1$/m);
    expect(text).toMatch(/^switchyard_shadow_judge_outcomes_total\{outcome="skipped-budget"\} 2$/m);
    const spent = /^switchyard_shadow_judge_spent_usd_24h (\S+)$/m.exec(text);
    expect(Number(spent?.[1])).toBeCloseTo(0.015, 9);
    await sidecar.close(); // waits for judging in flight
    const judged = upstream.requests.filter(isJudge).length;
    const baselines = upstream.requests.filter((r) => !isJudge(r) && r.body?.model === 'gpt-4o');
    expect(judged).toBe(1);
    expect(baselines.length).toBe(1);
  });
});

describe('the learning plugin on /metrics', () => {
  it('exports the span intake counts', async () => {
    const sidecar = await start();
    try {
      const post = (body: string) =>
        fetch(`${sidecar.url}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
      expect((await post('{"resourceSpans":[]}')).status).toBe(200);
      expect((await post('{not json')).status).toBe(400);
      const text = await (await fetch(`${sidecar.url}/metrics`)).text();
      expect(text).toMatch(/^switchyard_intake_requests_total\{status="200"\} 1$/m);
      expect(text).toMatch(/^switchyard_intake_requests_total\{status="400"\} 1$/m);
      expect(text).toMatch(/^switchyard_intake_spans_total\{outcome="accepted"\} 0$/m);
      expect(text).toMatch(/^switchyard_intake_waiting\{kind="remembered_calls"\} 0$/m);
      // No shadow judge configured: its metrics are absent rather than zero.
      expect(text).not.toContain('switchyard_shadow_judge');
    } finally {
      await sidecar.close();
    }
  });
});

describe('learning.shadowJudge settings', () => {
  it('is off when absent and fills defaults when set', () => {
    expect(shadowJudgeFromSidecar({}, {})).toBeUndefined();
    const s = shadowJudgeFromSidecar({ shadowJudge: { model: 'gpt-4o' } }, {});
    expect(s).toMatchObject({
      model: 'gpt-4o',
      sampleRate: 0.05,
      maxSpendUsdPerDay: 1,
      maxConcurrent: 2,
    });
  });

  it('names the setting and the fix when a value is wrong', () => {
    expect(() => shadowJudgeFromSidecar({ shadowJudge: {} }, {})).toThrow(
      /learning\.shadowJudge\.model: set the judge model/,
    );
    expect(() =>
      shadowJudgeFromSidecar({ shadowJudge: { model: 'm', sampleRate: 2 } }, {}),
    ).toThrow(/learning\.shadowJudge\.sampleRate: must be a share in \[0, 1\]/);
    expect(() =>
      shadowJudgeFromSidecar({ shadowJudge: { model: 'm', apiKeyEnv: 'NOPE' } }, {}),
    ).toThrow(/learning\.shadowJudge\.apiKeyEnv: environment variable NOPE is not set/);
    expect(() => shadowJudgeFromSidecar({ shadowJudge: { model: 'm', rate: 1 } }, {})).toThrow(
      /learning\.shadowJudge\.rate: unknown setting/,
    );
    expect(() =>
      shadowJudgeFromSidecar({ shadowJudge: { model: 'm', baseUrl: 'ftp://x' } }, {}),
    ).toThrow(/learning\.shadowJudge\.baseUrl: must be an http\(s\) URL/);
  });

  it('a bad setting stops the sidecar from starting with that message', async () => {
    await expect(start({ model: 'gpt-4o', maxConcurrent: 0 })).rejects.toThrow(
      /learning\.shadowJudge\.maxConcurrent/,
    );
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRulesApi, type RulesListing } from '../src/admin/rules-api.js';
import { runRulesCommand } from '../src/commands/rules-command.js';
import { createLearner } from '../src/learning/learner.js';
import { pricesFromTable } from '../src/learning/model-prices.js';
import type { Rule } from '../src/routing/rule.js';
import { openFileSnapshotRuleStore } from '../src/rules/file-snapshot-rule-store.js';

const learned: Rule = {
  id: 'learned-0000abcd',
  source: 'learned',
  kind: 'downgrade',
  match: { agent: 'writer', task: 'summary', model: 'gpt-4o' },
  targetModel: 'gpt-4o-mini',
  share: 0.75,
  evidence: {
    mode: 'budget',
    tolerance: 0.05,
    baselineModel: 'gpt-4o',
    candidateModel: 'gpt-4o-mini',
    baselineSamples: 120,
    candidateSamples: 80,
    baselineQuality: 0.9,
    candidateQuality: 0.88,
    confidence: 0.93,
    projectedSavingUsdPerDay: 12.5,
  },
  createdAt: 1,
  updatedAt: 2,
};

describe('rules API over a real socket, and the CLI against it', () => {
  let server: Server;
  let base: string;
  let store: Awaited<ReturnType<typeof openFileSnapshotRuleStore>>;
  let learner: ReturnType<typeof createLearner>;

  beforeAll(async () => {
    store = await openFileSnapshotRuleStore();
    // The learner writes to its own store here, so the hand-made rule above stays as it is.
    learner = createLearner({
      store: await openFileSnapshotRuleStore(),
      prices: pricesFromTable({
        'gpt-4o': { input: 2.5, output: 10 },
        'gpt-4o-mini': { input: 0.15, output: 0.6 },
      }),
      now: () => 1_000,
      config: { evaluateIntervalMs: 0 },
    });
    await store.setLearnedRules(
      [learned],
      [{ at: 2, action: 'created', ruleId: learned.id, detail: 'writer/summary' }],
    );
    learner.recordCall({
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      agent: 'writer',
      task: 'summary',
      operation: 'chat',
      requestedModel: 'gpt-4o',
      servedModel: 'gpt-4o',
      inputTokens: 100,
      outputTokens: 10,
      startTimeUnixMs: 0,
      durationMs: 50,
      error: false,
      finishReasons: ['stop'],
    });
    const api = createRulesApi({
      store,
      report: learner.report,
      staticPins: [{ id: 'cfg-pin', match: { agent: 'refinement' }, createdAt: 0 }],
    });
    server = createServer((req, res) => void api(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await learner.close();
    await store.close();
    await new Promise((r) => server.close(r));
  });

  const req = (method: string, path: string, body?: unknown, raw?: string) =>
    fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined || raw !== undefined ? { body: raw ?? JSON.stringify(body) } : {}),
    });

  it('lists rules with evidence, pins, dry-run and task statistics', async () => {
    await learner.evaluate();
    const res = await req('GET', '/switchyard/rules');
    expect(res.status).toBe(200);
    const body = (await res.json()) as RulesListing;
    expect(body.rules.find((r) => r.id === learned.id)).toEqual(learned);
    expect(body.pins).toEqual([
      { id: 'cfg-pin', match: { agent: 'refinement' }, createdAt: 0, source: 'static' },
    ]);
    expect(body.dryRun).toBe(false);
    expect(body.learning?.tasks[0]).toMatchObject({ agent: 'writer', task: 'summary', calls: 1 });
  });

  it('pins, unpins, switches dry-run and records history', async () => {
    const created = await req('POST', '/switchyard/pins', { agent: 'writer', note: 'launch week' });
    expect(created.status).toBe(201);
    const pin = (await created.json()) as { id: string; match: unknown; note: string };
    expect(pin).toMatchObject({ match: { agent: 'writer' }, note: 'launch week' });
    expect(store.snapshot().pins.map((p) => p.id)).toContain(pin.id);

    const dry = await req('POST', '/switchyard/dry-run', { enabled: true });
    expect(await dry.json()).toEqual({ dryRun: true });
    expect(store.snapshot().dryRun).toBe(true);

    const del = await req('DELETE', `/switchyard/pins/${pin.id}`);
    expect(await del.json()).toEqual({ id: pin.id, deleted: true });
    const again = await req('DELETE', `/switchyard/pins/${pin.id}`);
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('not_found');

    const history = (await (await req('GET', '/switchyard/history?limit=3')).json()) as {
      history: { action: string }[];
    };
    expect(history.history.map((h) => h.action)).toEqual(['unpinned', 'dry-run', 'pinned']);
    await req('POST', '/switchyard/dry-run', { enabled: false });
  });

  it('answers bad input with OpenAI-shaped errors', async () => {
    const cases: [string, string, unknown, string | undefined, number, string | null][] = [
      ['POST', '/switchyard/pins', {}, undefined, 400, 'agent'],
      ['POST', '/switchyard/pins', { task: 42 }, undefined, 400, 'task'],
      ['POST', '/switchyard/pins', undefined, '{oops', 400, null],
      ['POST', '/switchyard/dry-run', { enabled: 'yes' }, undefined, 400, 'enabled'],
      ['GET', '/switchyard/history?limit=0', undefined, undefined, 400, 'limit'],
      ['DELETE', '/switchyard/pins/cfg-pin', undefined, undefined, 400, 'id'],
      ['PUT', '/switchyard/rules', undefined, undefined, 405, null],
      ['GET', '/switchyard/nope', undefined, undefined, 404, null],
    ];
    for (const [method, path, body, raw, status, param] of cases) {
      const res = await req(method, path, body, raw);
      expect(res.status, `${method} ${path}`).toBe(status);
      const err = (await res.json()) as {
        error: { message: string; type: string; param: string | null };
      };
      expect(err.error.type).toBe('invalid_request_error');
      expect(err.error.message.length).toBeGreaterThan(0);
      expect(err.error.param).toBe(param);
    }
    const big = await req('POST', '/switchyard/pins', { agent: 'a', note: 'x'.repeat(20_000) });
    expect(big.status).toBe(413);
  });

  it('prints the table, pins and reports errors through the CLI', async () => {
    let out = '';
    let err = '';
    const io = {
      fetch,
      env: { SWITCHYARD_URL: base },
      stdout: (t: string) => {
        out += t;
      },
      stderr: (t: string) => {
        err += t;
      },
      now: () => 62_000,
    };
    expect(await runRulesCommand([], io)).toBe(0);
    expect(out).toContain('writer/summary');
    expect(out).toContain('gpt-4o → gpt-4o-mini');
    expect(out).toContain('75.0%');
    expect(out).toContain('120/80');
    expect(out).toContain('$12.50');
    expect(out).toContain(learned.id);
    expect(out).toContain('cfg-pin');

    out = '';
    expect(await runRulesCommand(['--json'], io)).toBe(0);
    expect((JSON.parse(out) as RulesListing).rules[0]?.id).toBe(learned.id);

    out = '';
    expect(await runRulesCommand(['pin', '--task', 'legal', '--note', 'hold'], io)).toBe(0);
    const id = /pinned (\S+)/.exec(out)?.[1];
    expect(store.snapshot().pins.find((p) => p.id === id)?.match).toEqual({ task: 'legal' });
    expect(await runRulesCommand(['unpin', id!], io)).toBe(0);
    expect(await runRulesCommand(['unpin', id!], io)).toBe(1);
    expect(err).toContain('404');

    expect(await runRulesCommand(['pin'], io)).toBe(2);
    expect(await runRulesCommand(['--bogus'], io)).toBe(2);
    err = '';
    expect(await runRulesCommand(['--url', 'http://127.0.0.1:1'], io)).toBe(1);
    expect(err).toContain('cannot reach the sidecar');
  });
});

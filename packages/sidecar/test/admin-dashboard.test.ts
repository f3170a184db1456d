import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createDashboard, escapeHtml } from '../src/admin/dashboard.js';
import type { LearnerReport } from '../src/learning/learner.js';
import { openFileSnapshotRuleStore } from '../src/rules/file-snapshot-rule-store.js';

const report: LearnerReport = {
  evaluatedAt: 0,
  mode: 'budget',
  tolerance: 0.05,
  totals: { calls: 10, costUsd: 3, savedUsd: 1 },
  tasks: [
    {
      agent: 'writer',
      task: '<script>alert(1)</script>',
      model: 'gpt-4o',
      calls: 10,
      arms: [
        {
          model: 'gpt-4o',
          calls: 10,
          judged: 8,
          quality: 0.875,
          errorRate: 0,
          truncationRate: 0.1,
          costUsd: 3,
          savedUsd: 0,
          meanLatencyMs: 120,
          inputTokens: 1000,
          outputTokens: 100,
        },
      ],
    },
  ],
};

describe('dashboard', () => {
  it('escapes HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    );
  });

  it('serves a self-contained page with spend, savings, rules and escaped task names', async () => {
    const store = await openFileSnapshotRuleStore();
    await store.setLearnedRules(
      [
        {
          id: 'learned-1',
          source: 'learned',
          kind: 'downgrade',
          match: { agent: 'writer', task: 'summary', model: 'gpt-4o' },
          targetModel: 'gpt-4o-mini',
          share: 0.5,
          createdAt: 0,
          updatedAt: 0,
        },
      ],
      [{ at: 0, action: 'created', ruleId: 'learned-1', detail: 'writer/summary (gpt-4o)' }],
    );
    await store.setDryRun(true);
    const handler = createDashboard({ store, report: () => report, now: () => 0 });
    const server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      const html = await res.text();
      expect(html).toContain('$3.00'); // spend
      expect(html).toContain('$1.00'); // saved
      expect(html).toContain('25.0%'); // saved / (spend + saved)
      expect(html).toContain('gpt-4o → gpt-4o-mini');
      expect(html).toContain('Dry-run');
      expect(html).toContain('&lt;script&gt;');
      expect(html).not.toContain('<script>');
      expect(html).not.toMatch(/(src|href)="http/);
      const post = await fetch(url, { method: 'POST' });
      expect(post.status).toBe(405);
    } finally {
      await new Promise((r) => server.close(r));
      await store.close();
    }
  });
});

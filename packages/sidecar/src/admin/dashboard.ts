/**
 * `GET /`: one self-contained HTML page (inline CSS, no script, no external assets) with the
 * spend and savings in the learner's window, the rules with their evidence, pins, per-task
 * statistics and the latest changes. Rendered on the server from the same data as the rules API;
 * it refreshes itself every 5 seconds. Every value is HTML-escaped.
 */
import type { RequestHandler } from '../http/request-handler.js';
import type { LearnerReport } from '../learning/learner.js';
import type { Rule, RuleChange, RuleStore } from '../routing/rule.js';

export interface DashboardDeps {
  readonly store: RuleStore;
  readonly report?: () => LearnerReport;
  readonly staticRules?: readonly Rule[];
  readonly now?: () => number;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** HTML-escapes text for element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const pct = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)}%`;
const usd = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? '–' : v >= 1 ? `$${v.toFixed(2)}` : `$${v.toFixed(4)}`;

function table(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  empty: string,
): string {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(empty)}</p>`;
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const tr = rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

/** The page for a given state (pure, for tests). */
export function renderDashboard(input: {
  readonly rules: readonly Rule[];
  readonly dryRun: boolean;
  readonly pins: readonly { id: string; match: Rule['match']; note?: string }[];
  readonly report: LearnerReport | null;
  readonly history: readonly RuleChange[];
  readonly now: number;
}): string {
  const r = input.report;
  const spend = r?.totals.costUsd ?? 0;
  const saved = r?.totals.savedUsd ?? 0;
  const savingShare = spend + saved > 0 ? saved / (spend + saved) : 0;
  const cards = [
    ['Spend (window)', usd(spend)],
    ['Saved (window)', usd(saved)],
    ['Saving', pct(savingShare)],
    ['Calls (window)', String(r?.totals.calls ?? 0)],
    ['Mode', r ? `${r.mode}, tolerance ${pct(r.tolerance)}` : 'learning off'],
    [
      'Rules',
      input.dryRun ? `${input.rules.length} (dry-run: not applied)` : String(input.rules.length),
    ],
  ]
    .map(
      ([k, v]) =>
        `<div class="card"><div class="k">${escapeHtml(k!)}</div><div class="v">${escapeHtml(v!)}</div></div>`,
    )
    .join('');
  const rules = table(
    [
      'Agent / task',
      'From → to',
      'Kind',
      'Share',
      'Samples B/C',
      'Quality B/C',
      'Confidence',
      'Saving/day',
      'Note',
    ],
    input.rules.map((x) => {
      const e = x.evidence;
      return [
        `${x.match.agent ?? '*'} / ${x.match.task ?? '*'}`,
        `${x.match.model ?? '*'} → ${x.targetModel}`,
        `${x.source} ${x.kind}`,
        pct(x.share),
        e ? `${e.baselineSamples} / ${e.candidateSamples}` : '–',
        e ? `${pct(e.baselineQuality)} / ${pct(e.candidateQuality)}` : '–',
        e ? pct(e.confidence) : '–',
        e ? usd(e.projectedSavingUsdPerDay) : '–',
        e?.note ?? '',
      ];
    }),
    'No rules yet: the learner needs judged calls of both models.',
  );
  const pins = table(
    ['Pin', 'Match', 'Note'],
    input.pins.map((p) => [
      p.id,
      [
        p.match.agent && `agent=${p.match.agent}`,
        p.match.task && `task=${p.match.task}`,
        p.match.model && `model=${p.match.model}`,
      ]
        .filter(Boolean)
        .join(' ') || 'all',
      p.note ?? '',
    ]),
    'No pins.',
  );
  const taskRows: string[][] = [];
  for (const t of r?.tasks.slice(0, 100) ?? []) {
    for (const a of t.arms) {
      taskRows.push([
        `${t.agent} / ${t.task}`,
        t.model,
        a.model,
        String(a.calls),
        String(a.judged),
        pct(a.quality),
        pct(a.errorRate),
        pct(a.truncationRate),
        usd(a.costUsd),
        usd(a.savedUsd),
      ]);
    }
  }
  const tasks = table(
    [
      'Agent / task',
      'Requested',
      'Served by',
      'Calls',
      'Judged',
      'Quality',
      'Errors',
      'Truncated',
      'Cost',
      'Saved',
    ],
    taskRows,
    'No calls seen yet.',
  );
  const history = table(
    ['When', 'Action', 'Detail'],
    input.history.map((h) => [
      new Date(h.at).toISOString().replace('T', ' ').slice(0, 19),
      h.action,
      h.detail,
    ]),
    'No changes yet.',
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Switchyard</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2433;background:#f7f8fa}
h1{font-size:20px;margin:0 0 16px}h2{font-size:16px;margin:28px 0 8px}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:10px 14px;min-width:140px}
.k{color:#667085;font-size:12px}.v{font-size:18px;font-weight:600}
table{border-collapse:collapse;background:#fff;width:100%}th,td{border:1px solid #dde1e8;padding:4px 8px;text-align:left;white-space:nowrap}
th{background:#eef1f5;font-weight:600}.empty{color:#667085}.dry{color:#b54708;font-weight:600}
</style></head><body>
<h1>Switchyard sidecar</h1>
${input.dryRun ? '<p class="dry">Dry-run: learned rules are reported but not applied.</p>' : ''}
<div class="cards">${cards}</div>
<h2>Rules</h2>${rules}
<h2>Pins</h2>${pins}
<h2>Tasks</h2>${tasks}
<h2>Latest changes</h2>${history}
<p class="empty">Rendered ${escapeHtml(new Date(input.now).toISOString())}. JSON: /switchyard/rules, /switchyard/history.</p>
</body></html>
`;
}

/**
 * @example createApp({ ..., dashboard: createDashboard({ store, report: learner.report }) })
 */
export function createDashboard(deps: DashboardDeps): RequestHandler {
  const now = deps.now ?? Date.now;
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('Method not allowed; use GET.\n');
      return;
    }
    const s = deps.store.snapshot();
    let history: readonly RuleChange[] = [];
    try {
      history = await deps.store.history(20);
    } catch {
      // The page still shows the rules in force when the history is unreachable.
    }
    const html = renderDashboard({
      rules: [...(deps.staticRules ?? []), ...s.rules],
      dryRun: s.dryRun,
      pins: s.pins,
      report: deps.report?.() ?? null,
      history,
      now: now(),
    });
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(html),
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    });
    res.end(req.method === 'HEAD' ? undefined : html);
  };
}

/**
 * The plain-text table of rules, pins and per-task statistics that `switchyard rules` prints.
 * Pure: it formats a `RulesListing` (the body of `GET /switchyard/rules`).
 */
import type { RulesListing } from './rules-api.js';

function pct(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : `${(v * 100).toFixed(1)}%`;
}

function usd(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return v >= 100 ? `$${v.toFixed(0)}` : v >= 1 ? `$${v.toFixed(2)}` : `$${v.toFixed(4)}`;
}

/** Left-aligned columns, two spaces apart. */
export function formatColumns(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * @example process.stdout.write(formatRulesTable(await (await fetch(url)).json()))
 */
export function formatRulesTable(l: RulesListing, now: number = Date.now()): string {
  const out: string[] = [];
  const learning = l.learning;
  out.push(
    `Switchyard rules (version ${l.version})${l.dryRun ? ' — DRY-RUN: learned rules are reported, not applied' : ''}`,
  );
  if (learning !== null) {
    out.push(
      `Learning: ${learning.mode} mode, tolerance ${pct(learning.tolerance)}; window: ${learning.totals.calls} calls, spend ${usd(learning.totals.costUsd)}, saved ${usd(learning.totals.savedUsd)}`,
    );
  }
  out.push('');
  if (l.rules.length === 0) {
    out.push('No rules yet.');
  } else {
    out.push(
      formatColumns(
        [
          'AGENT/TASK',
          'FROM → TO',
          'KIND',
          'SHARE',
          'SAMPLES B/C',
          'QUALITY B/C',
          'CONF',
          'SAVING/DAY',
          'AGE',
          'ID',
        ],
        l.rules.map((r) => {
          const e = r.evidence;
          return [
            `${r.match.agent ?? '*'}/${r.match.task ?? '*'}`,
            `${r.match.model ?? '*'} → ${r.targetModel}`,
            `${r.source === 'static' ? 'static ' : ''}${r.kind}`,
            pct(r.share),
            e ? `${e.baselineSamples}/${e.candidateSamples}` : '-',
            e ? `${pct(e.baselineQuality)}/${pct(e.candidateQuality)}` : '-',
            e ? pct(e.confidence) : '-',
            e ? usd(e.projectedSavingUsdPerDay) : '-',
            age(now - r.updatedAt),
            r.id,
          ];
        }),
      ),
    );
  }
  if (l.pins.length > 0) {
    out.push('', 'Pins (always served as requested):');
    out.push(
      formatColumns(
        ['ID', 'MATCH', 'SOURCE', 'NOTE'],
        l.pins.map((p) => [
          p.id,
          [
            p.match.agent && `agent=${p.match.agent}`,
            p.match.task && `task=${p.match.task}`,
            p.match.model && `model=${p.match.model}`,
          ]
            .filter(Boolean)
            .join(' ') || 'all',
          p.source,
          p.note ?? '',
        ]),
      ),
    );
  }
  if (learning !== null && learning.tasks.length > 0) {
    out.push('', 'Tasks (window):');
    const rows: string[][] = [];
    for (const t of learning.tasks.slice(0, 50)) {
      for (const a of t.arms) {
        rows.push([
          `${t.agent}/${t.task}`,
          t.model,
          a.model,
          String(a.calls),
          String(a.judged),
          pct(a.quality),
          pct(a.errorRate),
          pct(a.truncationRate),
          usd(a.costUsd),
          `${Math.round(a.meanLatencyMs)}ms`,
        ]);
      }
    }
    out.push(
      formatColumns(
        [
          'AGENT/TASK',
          'REQUESTED',
          'SERVED BY',
          'CALLS',
          'JUDGED',
          'QUALITY',
          'ERRORS',
          'TRUNC',
          'COST',
          'LATENCY',
        ],
        rows,
      ),
    );
    if (learning.tasks.length > 50)
      out.push(`… and ${learning.tasks.length - 50} more tasks (--json shows all)`);
  }
  return `${out.join('\n')}\n`;
}

function age(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)}h`;
  return `${Math.round(ms / 86_400_000)}d`;
}

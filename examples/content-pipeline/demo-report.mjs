/**
 * The demo's report: what was spent (by agent, task and model), the rules the sidecar learned
 * with their evidence, the cost against serving every call with the requested model, and the
 * quality kept by the reviewer's scores. Built from what is real in the run: the application's
 * own record of its calls (usage and served model from each answer, priced with the same price
 * table the spans use), the sidecar's rules API (`GET /switchyard/rules`: rules with evidence and
 * the learner's per-task statistics, which it counted from the spans it received) and its history.
 */

const pct = (x) => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);
const usd = (x) => `$${x.toFixed(4)}`;
const q = (x) => (x === null || x === undefined ? '-' : x.toFixed(3));
const mean = (xs) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Tallies calls into rows keyed by `keyOf`. */
function tally(calls, keyOf, prices) {
  const rows = new Map();
  for (const c of calls) {
    const model = prices.resolve(c.servedModel) ?? c.servedModel;
    const key = keyOf(c, model);
    let row = rows.get(key);
    if (row === undefined) {
      row = {
        agent: c.agent,
        task: c.task,
        model,
        calls: 0,
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        requestedCostUsd: 0,
      };
      rows.set(key, row);
    }
    const usage = { inputTokens: c.inputTokens, outputTokens: c.outputTokens };
    row.calls++;
    row.inputTokens += c.inputTokens;
    row.outputTokens += c.outputTokens;
    row.costUsd += prices.cost(c.servedModel, usage)?.totalUsd ?? 0;
    row.requestedCostUsd += prices.cost(c.requestedModel, usage)?.totalUsd ?? 0;
  }
  return [...rows.values()];
}

function costOf(runs, prices) {
  let actual = 0;
  let requested = 0;
  for (const run of runs) {
    for (const c of [...run.steps, ...run.reviews]) {
      const usage = { inputTokens: c.inputTokens, outputTokens: c.outputTokens };
      actual += prices.cost(c.servedModel, usage)?.totalUsd ?? 0;
      requested += prices.cost(c.requestedModel, usage)?.totalUsd ?? 0;
    }
  }
  return {
    actualUsd: actual,
    allRequestedUsd: requested,
    savedUsd: requested - actual,
    savedShare: requested > 0 ? 1 - actual / requested : 0,
    perRunUsd: runs.length > 0 ? actual / runs.length : 0,
    perRunAllRequestedUsd: runs.length > 0 ? requested / runs.length : 0,
  };
}

/**
 * Quality per pipeline step: reviewer scores on the requested model vs. on what was served.
 * `reference` (a previous result) supplies the requested model's quality when these runs have
 * too few calls on it, e.g. the last runs of a task that was downgraded completely.
 */
function qualityOf(runs, steps, prices, reference) {
  const out = [];
  for (const s of steps) {
    const calls = runs.flatMap((r) => r.steps.filter((c) => c.agent === s.agent));
    const scored = calls.filter((c) => c.score !== undefined);
    const requested = calls[0]?.requestedModel;
    const onRequested = scored.filter(
      (c) => (prices.resolve(c.servedModel) ?? c.servedModel) === requested,
    );
    const baseline =
      reference?.tasks.find((t) => t.agent === s.agent)?.requestedModelQuality ??
      mean(onRequested.map((c) => c.score));
    const served = mean(scored.map((c) => c.score));
    out.push({
      agent: s.agent,
      task: s.task,
      calls: calls.length,
      scored: scored.length,
      servedOnRequested: calls.filter(
        (c) => (prices.resolve(c.servedModel) ?? c.servedModel) === requested,
      ).length,
      requestedModelQuality: baseline,
      servedQuality: served,
      kept: baseline !== null && served !== null && baseline > 0 ? served / baseline : null,
    });
  }
  const weighed = out.filter((t) => t.kept !== null);
  const num = weighed.reduce((a, t) => a + t.servedQuality * t.scored, 0);
  const den = weighed.reduce((a, t) => a + t.requestedModelQuality * t.scored, 0);
  return { tasks: out, overallKept: den > 0 ? num / den : null };
}

function verdictOf(rule, sidecarTask) {
  const arms = sidecarTask?.arms ?? [];
  const armOf = (m) => arms.find((a) => a.model === m);
  const base = armOf(sidecarTask?.model);
  const cand = rule ? armOf(rule.targetModel) : arms.find((a) => a.model !== sidecarTask?.model);
  const qs = `${q(base?.quality)} on ${sidecarTask?.model ?? '?'} (${base?.judged ?? 0} judged) vs ${q(cand?.quality)} on ${cand?.model ?? 'the cheaper model'} (${cand?.judged ?? 0} judged)`;
  if (rule?.kind === 'downgrade') {
    return {
      state: rule.share >= 1 ? 'downgraded' : 'partly downgraded',
      text: `${rule.share >= 1 ? 'all' : pct(rule.share)} of its traffic now goes to ${rule.targetModel}: ${qs}`,
    };
  }
  if (rule?.kind === 'canary') {
    return {
      state: 'exploring',
      text: `still exploring (${pct(rule.share)} canary to ${rule.targetModel}), no verdict yet: ${qs}`,
    };
  }
  return { state: 'kept', text: `kept on the requested model: ${qs}` };
}

/**
 * Everything the demo reports, as plain data (also what `--json` writes).
 *
 * @example const report = buildReport({ options, runs, listing, history, timeline, providerCalls, prices, steps, world, durationMs });
 */
export function buildReport({
  options,
  runs,
  listing,
  history,
  timeline,
  providerCalls,
  prices,
  steps,
  world,
  durationMs,
}) {
  const allCalls = runs.flatMap((r) => [...r.steps, ...r.reviews]);
  const learning = listing.learning;
  const learned = listing.rules.filter((r) => r.source === 'learned');
  const tail = runs.slice(Math.floor(runs.length * 0.75));
  const quality = qualityOf(runs, steps, prices);

  const tasks = steps.map((s) => {
    const rule = learned.find((r) => r.match.agent === s.agent && r.match.task === s.task);
    const sidecarTask = learning?.tasks.find((t) => t.agent === s.agent && t.task === s.task);
    const v = verdictOf(rule, sidecarTask);
    return {
      agent: s.agent,
      task: s.task,
      state: v.state,
      verdict: v.text,
      ruleId: rule?.id ?? null,
    };
  });

  const notes = [];
  const downgraded = tasks.filter(
    (t) => t.state === 'downgraded' || t.state === 'partly downgraded',
  );
  if (downgraded.length === 0) {
    notes.push(
      `No task was downgraded within ${runs.length} runs: the learner needs more judged ` +
        `calls before it is confident. Run longer (--iterations ${Math.max(300, runs.length * 2)}) ` +
        'or allow more loss (--tolerance 0.1).',
    );
  }
  const exploring = tasks.filter((t) => t.state === 'exploring');
  if (exploring.length > 0) {
    notes.push(
      `${exploring.map((t) => `${t.agent}/${t.task}`).join(', ')}: the evidence is still open at the end ` +
        '(the cheaper model is neither clearly within nor clearly outside the tolerance), so the sidecar ' +
        'keeps a small canary share there; a longer run settles it.',
    );
  }
  const counted = learning?.totals.calls ?? 0;
  if (counted < allCalls.length) {
    notes.push(
      `The sidecar counted ${counted} of ${allCalls.length} calls from spans when the report was taken.`,
    );
  }

  return {
    version: 1,
    options: {
      iterations: options.iterations,
      mode: options.mode,
      tolerance: options.tolerance,
      seed: options.seed,
    },
    durationMs,
    calls: {
      app: allCalls.length,
      agentSteps: runs.reduce((a, r) => a + r.steps.length, 0),
      reviews: runs.reduce((a, r) => a + r.reviews.length, 0),
      // What the sidecar counted from the spans it received on /v1/traces (the learner's totals).
      sidecarCounted: counted,
      // What the fake provider really answered, by model.
      providerByModel: providerCalls,
    },
    // Spend as the sidecar counted it from the spans: the learner's statistics per
    // (agent, task, requested model), split by the model that answered.
    spend: (learning?.tasks ?? []).flatMap((t) =>
      t.arms.map((a) => ({
        agent: t.agent,
        task: t.task,
        requestedModel: t.model,
        model: a.model,
        calls: a.calls,
        inputTokens: a.inputTokens,
        outputTokens: a.outputTokens,
        costUsd: a.costUsd,
        requestedCostUsd: a.costUsd + a.savedUsd,
        judged: a.judged,
        quality: a.quality,
      })),
    ),
    // The same from the application's own record of its calls (usage and served model of each
    // answer, priced with the price table the spans use): a cross-check of the span path.
    spendApp: tally(allCalls, (c, model) => `${c.agent}\u0000${c.task}\u0000${model}`, prices),
    sidecar: {
      totals: learning?.totals ?? null,
      mode: learning?.mode ?? null,
      tolerance: learning?.tolerance ?? null,
      tasks: learning?.tasks ?? [],
      budget: learning?.budget ?? null,
    },
    rules: learned.map((r) => ({
      id: r.id,
      agent: r.match.agent ?? null,
      task: r.match.task ?? null,
      requestedModel: r.match.model ?? null,
      kind: r.kind,
      targetModel: r.targetModel,
      share: r.share,
      evidence: r.evidence ?? null,
      // The run after which the rule took its current form (from the rules API, polled each run).
      sinceRun:
        timeline.findLast((e) => e.group === `${r.match.agent}/${r.match.task}`)?.run ?? null,
    })),
    timeline,
    history: history.map((h) => ({
      at: h.at,
      action: h.action,
      ruleId: h.ruleId ?? null,
      detail: h.detail,
    })),
    tasks,
    cost: { ...costOf(runs, prices), lastQuarter: { runs: tail.length, ...costOf(tail, prices) } },
    quality: { ...quality, lastQuarter: qualityOf(tail, steps, prices, quality) },
    world: { quality: world, note: "the fake provider's mean quality per model and kind of work" },
    notes,
  };
}

function table(rows, columns) {
  const width = columns.map((c) =>
    Math.max(c.title.length, ...rows.map((r) => String(c.value(r)).length)),
  );
  const line = (cells) =>
    cells
      .map((cell, i) =>
        columns[i].right ? String(cell).padStart(width[i]) : String(cell).padEnd(width[i]),
      )
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.title)),
    line(width.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(columns.map((c) => c.value(r)))),
  ].join('\n');
}

const list = (ts) => {
  const names = ts.map((t) => `${t.agent}/${t.task}`);
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
};

/** A few sentences saying what the run showed. */
function summaryOf(report) {
  const by = (...states) => report.tasks.filter((t) => states.includes(t.state));
  const out = [];
  const full = by('downgraded');
  const partly = report.rules.filter((r) => r.kind === 'downgrade' && r.share < 1);
  // Kept after the sidecar tried the cheaper model on it (a canary), or never tried at all.
  const tried = (t) => report.timeline.some((e) => e.group === `${t.agent}/${t.task}`);
  const kept = by('kept').filter(tried);
  const untried = by('kept').filter((t) => !tried(t));
  const exploring = by('exploring');
  if (report.options.mode === 'budget') {
    const moved = report.rules.filter((r) => r.kind === 'downgrade');
    if (moved.length > 0) {
      out.push(
        `Spending the ${pct(report.options.tolerance)} quality budget where it buys the most saving, ` +
          `the sidecar moved traffic to the cheaper model: ` +
          `${moved.map((r) => `${r.agent}/${r.task} ${pct(r.share)}`).join(', ')} ` +
          '(a downgraded task keeps 10% on the requested model until that has 100 judged calls).',
      );
    }
  } else {
    if (full.length > 0) {
      out.push(
        `From the reviewer's scores in the spans, the sidecar learned that gpt-4o-mini is within ` +
          `${pct(report.options.tolerance)} of gpt-4o for ${list(full)} and now serves ` +
          `${full.length === 1 ? 'it' : 'them'} with it.`,
      );
    }
    if (partly.length > 0) {
      out.push(
        `Part of the traffic of ${partly.map((r) => `${r.agent}/${r.task} (${pct(r.share)})`).join(', ')} moved too.`,
      );
    }
  }
  if (kept.length > 0) {
    out.push(
      `It tried the cheaper model on ${list(kept)}, found it too much worse, and kept ` +
        `${kept.length === 1 ? 'it' : 'them'} on the requested model.`,
    );
  }
  if (untried.length > 0) {
    out.push(`${list(untried)}: not explored in this run, served as requested.`);
  }
  if (exploring.length > 0) out.push(`${list(exploring)}: still being explored at the end.`);
  const tail = report.cost.lastQuarter;
  const keptTail = report.quality.lastQuarter.overallKept;
  out.push(
    `In the last ${tail.runs} runs a pipeline run cost ${usd(tail.perRunUsd)} instead of ` +
      `${usd(tail.perRunAllRequestedUsd)} (${pct(tail.savedShare)} less) with ${pct(keptTail)} of the quality.`,
  );
  if (report.options.mode === 'per-task') {
    out.push(
      'Per task is the strict promise; --mode budget spends the same tolerance across tasks, ' +
        'where it buys the most, and saves more.',
    );
  }
  return out;
}

/** Prints the report for people. */
export function printReport(report, out) {
  const w = (s = '') => out.write(`${s}\n`);
  const o = report.options;
  w();
  w(
    `Switchyard demo: a four-agent content pipeline, ${o.iterations} runs, learning mode ${o.mode}, tolerance ${pct(o.tolerance)}`,
  );
  w('='.repeat(96));
  w();
  w(
    `Calls: the pipeline made ${report.calls.app} LLM calls (${report.calls.agentSteps} agent steps, ${report.calls.reviews} reviews) through the sidecar;`,
  );
  w(
    `the sidecar counted ${report.calls.sidecarCounted} of them from the spans it received at /v1/traces (OTLP/HTTP).`,
  );
  const served = Object.entries(report.calls.providerByModel)
    .map(([m, n]) => `${m} ${n}`)
    .join(', ');
  w(`The provider answered: ${served}.`);
  w();

  w('Spend by agent, task and the model that answered, as the sidecar counted it from the spans');
  w(
    table(
      [...report.spend].sort((a, b) => b.costUsd - a.costUsd),
      [
        { title: 'agent', value: (r) => r.agent },
        { title: 'task', value: (r) => r.task },
        { title: 'model', value: (r) => r.model },
        { title: 'calls', value: (r) => r.calls, right: true },
        { title: 'tokens in', value: (r) => r.inputTokens, right: true },
        { title: 'tokens out', value: (r) => r.outputTokens, right: true },
        { title: 'cost', value: (r) => usd(r.costUsd), right: true },
        { title: 'on requested model', value: (r) => usd(r.requestedCostUsd), right: true },
        { title: 'judged', value: (r) => r.judged, right: true },
        { title: 'quality', value: (r) => q(r.quality), right: true },
      ],
    ),
  );
  const appTotal = report.spendApp.reduce((a, r) => a + r.costUsd, 0);
  const sidecarTotal = report.spend.reduce((a, r) => a + r.costUsd, 0);
  w(
    `The application's own tally of the same calls (usage of each answer, same price table): ` +
      `${usd(appTotal)}${Math.abs(appTotal - sidecarTotal) < 5e-5 ? ', the same' : ` (sidecar: ${usd(sidecarTotal)})`}.`,
  );
  w();

  w('Rules the sidecar learned (GET /switchyard/rules)');
  if (report.rules.length === 0) w('  none');
  for (const r of report.rules) {
    const e = r.evidence;
    w(
      `  ${r.id}  ${r.agent}/${r.task}: ${r.requestedModel} → ${r.targetModel}, ${r.kind}, share ${pct(r.share)}` +
        (r.sinceRun !== null ? `, since run ${r.sinceRun}` : ''),
    );
    if (e) {
      w(
        `      evidence when written: ${e.baselineModel} quality ${q(e.baselineQuality)} (${e.baselineSamples} judged), ` +
          `${e.candidateModel} ${q(e.candidateQuality)} (${e.candidateSamples} judged), ` +
          `confidence ${pct(e.confidence)} that the loss is within ${pct(e.tolerance)}` +
          (e.note ? `; ${e.note}` : ''),
      );
    }
  }
  w();

  w('How the rules changed (rules API polled after each run)');
  const groups = [...new Set(report.timeline.map((e) => e.group))];
  if (groups.length === 0) w('  no change');
  for (const g of groups) {
    // One entry per change of kind; share changes within a kind are folded into it.
    const entries = report.timeline.filter((e) => e.group === g);
    const phases = [];
    for (const e of entries) {
      const cur = phases.at(-1);
      if (cur !== undefined && cur.first.kind === e.kind) cur.last = e;
      else phases.push({ first: e, last: e });
    }
    const steps = phases
      .map(({ first, last }) =>
        first === last || first.kind === 'none'
          ? `run ${first.run}: ${first.rule}`
          : `run ${first.run}: ${first.rule} (${pct(last.share)} by run ${last.run})`,
      )
      .join(' → ');
    w(`  ${g.padEnd(18)} ${steps}`);
  }
  w();

  w('What happened to each step');
  for (const t of report.tasks) w(`  ${`${t.agent}/${t.task}`.padEnd(18)} ${t.verdict}`);
  w();

  const c = report.cost;
  w('Cost');
  w(
    `  this run ${usd(c.actualUsd)} vs ${usd(c.allRequestedUsd)} with every call on the requested model: ` +
      `${pct(c.savedShare)} less (${usd(c.savedUsd)} saved), learning included`,
  );
  w(
    `  last ${c.lastQuarter.runs} runs: ${usd(c.lastQuarter.perRunUsd)} per pipeline run vs ${usd(c.lastQuarter.perRunAllRequestedUsd)} ` +
      `(${pct(c.lastQuarter.savedShare)} less)`,
  );
  const t = report.sidecar.totals;
  if (t) {
    w(
      `  the sidecar's own count: ${usd(t.costUsd)} spent, ${usd(t.savedUsd)} saved against the requested models`,
    );
  }
  w();

  w('Quality kept (reviewer scores, 0-1)');
  w(
    table(report.quality.tasks, [
      { title: 'agent', value: (r) => r.agent },
      { title: 'task', value: (r) => r.task },
      { title: 'on requested model', value: (r) => q(r.requestedModelQuality), right: true },
      { title: 'as served', value: (r) => q(r.servedQuality), right: true },
      { title: 'kept', value: (r) => pct(r.kept), right: true },
      {
        title: 'kept, last quarter',
        value: (r) => pct(report.quality.lastQuarter.tasks.find((x) => x.agent === r.agent)?.kept),
        right: true,
      },
    ]),
  );
  w(
    `  overall ${pct(report.quality.overallKept)} of the requested model's quality kept ` +
      `(last quarter ${pct(report.quality.lastQuarter.overallKept)})`,
  );
  w();
  w('Summary');
  for (const line of summaryOf(report)) w(`  ${line}`);
  if (report.notes.length > 0) {
    w();
    w('Notes');
    for (const n of report.notes) w(`  - ${n}`);
  }
  w();
  w(`Done in ${(report.durationMs / 1000).toFixed(1)} s. Every server was local and is closed.`);
}

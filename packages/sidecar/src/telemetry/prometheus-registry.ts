/**
 * A small Prometheus text-exposition registry (format 0.0.4): counters, gauges and histograms
 * with labels. Each labelled series is found by one Map lookup on a key the caller builds once,
 * so recording costs a few additions; text is only produced when /metrics is scraped.
 */

type LabelValues = readonly string[];

/** One labelled series of a counter or gauge. Keep it to record without any lookup. */
export class CounterSeries {
  value = 0;
  constructor(readonly labels: LabelValues) {}
  inc(amount = 1): void {
    this.value += amount;
  }
}

interface HistogramSeries {
  readonly labels: LabelValues;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** Bound on label combinations per metric: a client-sent model name must not grow memory. */
const MAX_SERIES = 2000;
const OVERFLOW = '__overflow__';

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: LabelValues, extra?: string): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++)
    parts.push(`${names[i]}="${escapeLabel(values[i] ?? '')}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}
  abstract render(out: string[]): void;
}

/** A monotonically increasing counter (or a gauge when `type` is `gauge`). */
export class Counter extends Metric {
  readonly #series = new Map<string, CounterSeries>();
  readonly #type: 'counter' | 'gauge';

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    type: 'counter' | 'gauge' = 'counter',
  ) {
    super(name, help, labelNames);
    this.#type = type;
  }

  /** Adds `amount` to the series for `labels` (values in `labelNames` order). */
  inc(labels: LabelValues = [], amount = 1): void {
    this.#get(labels).value += amount;
  }

  /** Sets the series (gauges). */
  set(labels: LabelValues, value: number): void {
    this.#get(labels).value = value;
  }

  /** The series for `labels`, to record on it directly on a hot path. */
  series(labels: LabelValues = []): CounterSeries {
    return this.#get(labels);
  }

  /** Current value of a series (0 when never recorded). For tests and /readyz. */
  value(labels: LabelValues = []): number {
    return this.#series.get(labels.join('\u0000'))?.value ?? 0;
  }

  #get(labels: LabelValues): CounterSeries {
    const key = labels.length === 1 ? (labels[0] as string) : labels.join('\u0000');
    let s = this.#series.get(key);
    if (s === undefined) {
      // The overflow series itself may always be created, one past the bound.
      if (this.#series.size >= MAX_SERIES && labels[0] !== OVERFLOW) {
        return this.#get(labels.map(() => OVERFLOW));
      }
      s = new CounterSeries([...labels]);
      this.#series.set(key, s);
    }
    return s;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.#type}`);
    for (const s of this.#series.values()) {
      out.push(`${this.name}${labelText(this.labelNames, s.labels)} ${formatNumber(s.value)}`);
    }
  }
}

/**
 * A counter or gauge whose values another component already keeps (a cache tier's or the span
 * intake's own counts): read when /metrics is scraped, so recording costs that component nothing
 * extra. `collect` returns [label values, value] pairs in `labelNames` order.
 */
export class CollectedMetric extends Metric {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly type: 'counter' | 'gauge',
    private readonly collect: () => Iterable<readonly [LabelValues, number]>,
  ) {
    super(name, help, labelNames);
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const [labels, value] of this.collect()) {
      out.push(`${this.name}${labelText(this.labelNames, labels)} ${formatNumber(value)}`);
    }
  }
}

/** A histogram with fixed buckets (upper bounds, ascending, without +Inf). */
export class Histogram extends Metric {
  readonly #series = new Map<string, HistogramSeries>();
  readonly #bounds: readonly number[];
  readonly #boundLabels: readonly string[];

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    bounds: readonly number[],
  ) {
    super(name, help, labelNames);
    this.#bounds = bounds;
    this.#boundLabels = bounds.map((b) => `le="${formatNumber(b)}"`);
  }

  observe(labels: LabelValues, value: number): void {
    const key = labels.length === 1 ? (labels[0] as string) : labels.join('\u0000');
    let s = this.#series.get(key);
    if (s === undefined) {
      if (this.#series.size >= MAX_SERIES) {
        this.observe(
          labels.map(() => OVERFLOW),
          value,
        );
        return;
      }
      s = { labels: [...labels], counts: new Float64Array(this.#bounds.length), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    const bounds = this.#bounds;
    // Non-cumulative per bucket; made cumulative at render time.
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    if (i < bounds.length) (s.counts as Float64Array)[i] = (s.counts[i] as number) + 1;
    s.sum += value;
    s.count++;
  }

  /** A recorder bound to one series, to observe on a hot path without building label arrays. */
  series(labels: LabelValues): (value: number) => void {
    const fixed = [...labels];
    return (value: number) => this.observe(fixed, value);
  }

  /** Observations of a series. For tests. */
  count(labels: LabelValues = []): number {
    return this.#series.get(labels.join('\u0000'))?.count ?? 0;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += s.counts[i] as number;
        out.push(
          `${this.name}_bucket${labelText(this.labelNames, s.labels, this.#boundLabels[i])} ${cumulative}`,
        );
      }
      out.push(
        `${this.name}_bucket${labelText(this.labelNames, s.labels, 'le="+Inf"')} ${s.count}`,
      );
      out.push(`${this.name}_sum${labelText(this.labelNames, s.labels)} ${formatNumber(s.sum)}`);
      out.push(`${this.name}_count${labelText(this.labelNames, s.labels)} ${s.count}`);
    }
  }
}

/** Holds metrics and renders them as Prometheus text. */
export class PrometheusRegistry {
  readonly #metrics: Metric[] = [];

  register<M extends Metric>(metric: M): M {
    if (this.#metrics.some((m) => m.name === metric.name)) {
      throw new Error(`Prometheus metric '${metric.name}' is registered twice`);
    }
    this.#metrics.push(metric);
    return metric;
  }

  /** The exposition text. */
  render(): string {
    const out: string[] = [];
    for (const m of this.#metrics) m.render(out);
    out.push('');
    return out.join('\n');
  }
}

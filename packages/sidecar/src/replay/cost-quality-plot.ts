/**
 * The cost-quality picture of a replay as a hand-written SVG (no dependencies): x is cost as a
 * share of sending everything to the baseline, y is quality (mean score). It shows the online
 * run(s), the hindsight tolerance sweep(s), the random-mixture line and the reference points.
 */

export interface PlotPoint {
  /** Cost as a share of the all-baseline cost (0..1+). */
  readonly cost: number;
  /** Mean score, 0..1. */
  readonly quality: number;
  readonly label: string;
}

export interface PlotCurve {
  readonly label: string;
  readonly points: readonly PlotPoint[];
  readonly color: string;
  readonly dashed?: boolean;
}

export interface CostQualityPlot {
  readonly title: string;
  readonly subtitle?: string;
  readonly curves: readonly PlotCurve[];
  /** Reference points (drawn as hollow circles). */
  readonly references: readonly (PlotPoint & { readonly color: string })[];
  /** Online runs (drawn as filled diamonds). */
  readonly runs: readonly (PlotPoint & { readonly color: string })[];
}

const WIDTH = 1040;
const HEIGHT = 520;
const MARGIN = { left: 70, right: 340, top: 60, bottom: 60 };

/**
 * Renders the plot as a standalone SVG document.
 *
 * @example await writeFile('mmlu.svg', renderCostQualitySvg(plot));
 */
export function renderCostQualitySvg(plot: CostQualityPlot): string {
  const all = [...plot.curves.flatMap((c) => c.points), ...plot.references, ...plot.runs];
  const xMax = niceCeil(Math.max(1, ...all.map((p) => p.cost)));
  const qs = all.map((p) => p.quality);
  const yMinRaw = Math.min(...qs);
  const yMaxRaw = Math.max(...qs);
  const pad = Math.max(0.01, (yMaxRaw - yMinRaw) * 0.08);
  const yMin = Math.max(0, Math.floor((yMinRaw - pad) * 50) / 50);
  const yMax = Math.min(1, Math.ceil((yMaxRaw + pad) * 50) / 50);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (v: number) => MARGIN.left + (v / xMax) * plotW;
  // Labels of points in the right half go to the point's left so they stay inside the plot.
  const label = (px: number, py: number, text: string, color: string, bold: boolean) => {
    const left = px > MARGIN.left + plotW / 2;
    return `<text x="${f(left ? px - 10 : px + 10)}" y="${f(py)}" fill="${color}"${left ? ' text-anchor="end"' : ''}${bold ? ' font-weight="bold"' : ''}>${esc(text)}</text>`;
  };
  const y = (v: number) => MARGIN.top + (1 - (v - yMin) / (yMax - yMin || 1)) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="bold">${esc(plot.title)}</text>`,
  );
  if (plot.subtitle) {
    out.push(`<text x="${MARGIN.left}" y="42" fill="#555">${esc(plot.subtitle)}</text>`);
  }
  // Grid and axes.
  const xTicks = ticks(0, xMax, 5);
  const yTicks = ticks(yMin, yMax, 6);
  for (const t of xTicks) {
    out.push(
      `<line x1="${f(x(t))}" y1="${MARGIN.top}" x2="${f(x(t))}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${f(x(t))}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${Math.round(t * 100)}%</text>`,
    );
  }
  for (const t of yTicks) {
    out.push(
      `<line x1="${MARGIN.left}" y1="${f(y(t))}" x2="${MARGIN.left + plotW}" y2="${f(y(t))}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 8}" y="${f(y(t) + 4)}" text-anchor="end">${t.toFixed(2)}</text>`,
    );
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle">cost (share of sending every call to the baseline)</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">quality (mean score)</text>`,
  );
  // Curves.
  for (const c of plot.curves) {
    if (c.points.length === 0) continue;
    const sorted = [...c.points].sort((a, b) => a.cost - b.cost);
    const d = sorted.map((p, i) => `${i ? 'L' : 'M'}${f(x(p.cost))} ${f(y(p.quality))}`).join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${c.color}" stroke-width="2"${c.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    for (const p of sorted) {
      out.push(
        `<circle cx="${f(x(p.cost))}" cy="${f(y(p.quality))}" r="2.5" fill="${c.color}"><title>${esc(p.label)}</title></circle>`,
      );
    }
  }
  // Reference points and runs, labelled beside the point.
  for (const p of plot.references) {
    out.push(
      `<circle cx="${f(x(p.cost))}" cy="${f(y(p.quality))}" r="6" fill="#fff" stroke="${p.color}" stroke-width="2"/>`,
      label(x(p.cost), y(p.quality) - 8, p.label, p.color, false),
    );
  }
  for (const p of plot.runs) {
    const cx = x(p.cost);
    const cy = y(p.quality);
    out.push(
      `<path d="M${f(cx)} ${f(cy - 8)} L${f(cx + 8)} ${f(cy)} L${f(cx)} ${f(cy + 8)} L${f(cx - 8)} ${f(cy)} Z" fill="${p.color}" stroke="#000" stroke-width="0.5"/>`,
      label(cx, cy + 18, p.label, p.color, true),
    );
  }
  // Legend.
  let ly = MARGIN.top + 6;
  const lx = MARGIN.left + plotW + 16;
  out.push(`<text x="${lx}" y="${ly}" font-weight="bold">legend</text>`);
  ly += 18;
  for (const c of plot.curves) {
    out.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 24}" y2="${ly - 4}" stroke="${c.color}" stroke-width="2"${c.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${lx + 30}" y="${ly}">${esc(c.label)}</text>`,
    );
    ly += 18;
  }
  for (const p of plot.references) {
    out.push(
      `<circle cx="${lx + 12}" cy="${ly - 4}" r="5" fill="#fff" stroke="${p.color}" stroke-width="2"/>`,
      `<text x="${lx + 30}" y="${ly}">${esc(p.label)}</text>`,
    );
    ly += 18;
  }
  for (const p of plot.runs) {
    out.push(
      `<path d="M${lx + 12} ${ly - 11} L${lx + 19} ${ly - 4} L${lx + 12} ${ly + 3} L${lx + 5} ${ly - 4} Z" fill="${p.color}"/>`,
      `<text x="${lx + 30}" y="${ly}">${esc(p.label)}</text>`,
    );
    ly += 18;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function ticks(min: number, max: number, count: number): number[] {
  const step = niceStep((max - min) / count);
  const out: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + 1e-9; t += step) {
    out.push(Math.round(t / step) * step);
  }
  return out;
}

function niceStep(raw: number): number {
  if (raw <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

function niceCeil(v: number): number {
  return Math.ceil(v * 10) / 10;
}

function f(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

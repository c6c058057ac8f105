/**
 * The live statistics charts (uPlot): guest MIPS, exits per second by
 * reason, TLB misses per second and the translation cache's hit rate, over
 * the last WINDOW seconds.
 *
 * @module
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { RateSample } from "./rates.js";

const WINDOW_S = 60;
const HEIGHT = 120;
const PALETTE = ["#6cb6ff", "#f69d50", "#57ab5a", "#e5534b", "#b083f0", "#c69026", "#39c5cf", "#dcbdfb", "#96d0ff", "#8ddb8c", "#f47067"];
const AXIS = { stroke: "#8a93a3", grid: { stroke: "#2a2f38", width: 1 }, ticks: { stroke: "#2a2f38", width: 1 } };

function fmt(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1e6) return (n / 1e6).toFixed(digits) + "M";
  if (a >= 1e3) return (n / 1e3).toFixed(digits) + "k";
  return n.toFixed(digits);
}

/** An axis label: three significant digits at most, k/M for large values. */
function tick(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e6) return `${+(n / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(n / 1e3).toPrecision(3)}k`;
  return `${+n.toPrecision(3)}`;
}

interface Chart {
  plot: uPlot;
  /** Column 0 is time; one column per series. */
  data: (number | null)[][];
}

function makeChart(el: HTMLElement, title: string, series: uPlot.Series[], yRange?: [number, number]): Chart {
  const data: (number | null)[][] = [[], ...series.map(() => [])];
  const plot = new uPlot({
    title,
    width: Math.max(200, el.clientWidth - 8),
    height: HEIGHT,
    scales: {
      x: { time: false },
      y: yRange ? { range: yRange } : { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
    },
    axes: [
      { ...AXIS, values: (_u, ticks) => ticks.map((t) => `${tick(t)}s`) },
      { ...AXIS, size: 50, space: 18, values: (_u, ticks) => ticks.map(tick) },
    ],
    legend: { live: false },
    cursor: { show: false },
    series: [{ label: "t" }, ...series],
  }, data as uPlot.AlignedData, el);
  return { plot, data };
}

export class StatsCharts {
  private readonly mips: Chart;
  private readonly exits: Chart;
  private readonly tlb: Chart;
  private readonly tcache: Chart;
  private reasons: string[] = [];
  private readonly els: HTMLElement[];

  constructor(els: { mips: HTMLElement; exits: HTMLElement; tlb: HTMLElement; tcache: HTMLElement }) {
    this.els = [els.mips, els.exits, els.tlb, els.tcache];
    const line = (label: string, i: number, digits = 1): uPlot.Series =>
      ({ label, stroke: PALETTE[i % PALETTE.length], width: 1.5, value: (_u, v) => fmt(v, digits) });
    this.mips = makeChart(els.mips, "Guest MIPS", [line("MIPS", 0)]);
    this.exits = makeChart(els.exits, "Exits per second, by reason", []);
    this.tlb = makeChart(els.tlb, "TLB misses per second", [line("misses/s", 1, 0)]);
    this.tcache = makeChart(els.tcache, "Translation cache hit rate", [{ ...line("hit rate %", 2), spanGaps: true, value: (_u, v) => (v == null ? "–" : v.toFixed(1) + "%") }], [0, 100]);
    new ResizeObserver(() => this.resize()).observe(els.mips);
  }

  private charts(): Chart[] { return [this.mips, this.exits, this.tlb, this.tcache]; }

  private resize(): void {
    const w = Math.max(200, this.els[0]!.clientWidth - 8);
    for (const c of this.charts()) if (c.plot.width !== w) c.plot.setSize({ width: w, height: HEIGHT });
  }

  /** Forget everything (a new boot). */
  reset(): void {
    while (this.reasons.length > 0) {
      this.exits.plot.delSeries(this.reasons.length);
      this.exits.data.pop();
      this.reasons.pop();
    }
    for (const c of this.charts()) {
      for (const col of c.data) col.length = 0;
      c.plot.setData(c.data as uPlot.AlignedData);
    }
  }

  add(s: RateSample): void {
    for (const reason of Object.keys(s.exits)) {
      if (this.reasons.includes(reason) || reason === "budget") continue;
      // A reason seen for the first time: a new series, with no values before now.
      this.reasons.push(reason);
      const i = this.reasons.length;
      this.exits.data.push(this.exits.data[0]!.map(() => null));
      this.exits.plot.addSeries({ label: reason, stroke: PALETTE[(i - 1) % PALETTE.length], width: 1.5, value: (_u, v) => fmt(v, 0) }, i);
    }
    this.append(this.mips, s.t, [s.mips]);
    this.append(this.exits, s.t, this.reasons.map((r) => s.exits[r] ?? 0));
    this.append(this.tlb, s.t, [s.tlbMissesPerSec]);
    this.append(this.tcache, s.t, [s.tcacheHitRate]);
  }

  private append(c: Chart, t: number, values: (number | null)[]): void {
    c.data[0]!.push(t);
    values.forEach((v, i) => c.data[i + 1]!.push(v));
    while (c.data[0]!.length > 1 && c.data[0]![0]! < t - WINDOW_S) for (const col of c.data) col.shift();
    c.plot.setData(c.data as uPlot.AlignedData);
  }

  /** Points currently plotted per chart (for the end-to-end test). */
  points(): { mips: number; exits: number; tlb: number; tcache: number; exitReasons: string[] } {
    return {
      mips: this.mips.data[0]!.length,
      exits: this.exits.data[0]!.length,
      tlb: this.tlb.data[0]!.length,
      tcache: this.tcache.data[0]!.length,
      exitReasons: [...this.reasons],
    };
  }

  /** The latest value of each chart's first series. */
  latest(): { mips: number | null } {
    const col = this.mips.data[1]!;
    return { mips: col.length ? col[col.length - 1]! : null };
  }
}

export { fmt };

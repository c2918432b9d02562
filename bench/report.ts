/** Formatting of the results: the table, the ratio lines, and the JSON file. */
import { timeRatio, type Unit, type Workload } from "./workloads.js";

export type Cell =
  | { status: "ok"; value: number; medianMs: number; minMs: number; reps: number; note?: string }
  | { status: "n/a" | "skipped" | "error"; reason: string };

export interface WorkloadResult {
  workload: Workload;
  cells: Map<string, Cell>;
}

/** Three significant digits, without exponent notation for the ranges seen here. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

function cellText(cell: Cell | undefined, marks: Map<string, number>): string {
  if (cell === undefined) return "-";
  if (cell.status === "ok") {
    if (cell.note === undefined) return fmt(cell.value);
    if (!marks.has(cell.note)) marks.set(cell.note, marks.size + 1);
    return `${fmt(cell.value)} [${marks.get(cell.note)!}]`;
  }
  if (cell.status === "n/a") return "n/a";
  const text = `${cell.status} (${cell.reason})`;
  if (!marks.has(text)) marks.set(text, marks.size + 1);
  return `${cell.status} [${marks.get(text)!}]`;
}

/** The fluxion/peer time ratio of a workload, when both measured. */
export function ratio(result: WorkloadResult, peer: string): number | undefined {
  const f = result.cells.get("fluxion");
  const p = result.cells.get(peer);
  if (f?.status !== "ok" || p?.status !== "ok") return undefined;
  return timeRatio(result.workload.unit, f.value, p.value);
}

const unitNote: Record<Unit, string> = {
  "GFLOP/s": "higher is better",
  ms: "lower is better",
  "µs/op": "lower is better",
};

/** The table (workloads × libraries), its footnotes, then one line of ratios per workload. */
export function formatReport(
  results: WorkloadResult[],
  peers: string[],
  notes: readonly string[] = [],
): string {
  const marks = new Map<string, number>();
  const titleWidth = Math.max(...results.map((r) => r.workload.title.length)) + 2;
  const rows = results.map((r) => [
    r.workload.title,
    r.workload.unit,
    ...peers.map((p) => cellText(r.cells.get(p), marks)),
  ]);
  const header = ["workload", "unit", ...peers];
  const widths = header.map((h, i) =>
    i === 0 ? titleWidth : Math.max(h.length, ...rows.map((row) => row[i]!.length)) + 2,
  );
  const line = (cols: string[]): string =>
    cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("");
  const out = [line(header), "-".repeat(widths.reduce((a, b) => a + b, 0))];
  for (const row of rows) out.push(line(row));
  out.push("");
  out.push("GFLOP/s: higher is better; ms and µs/op: lower is better.");
  for (const [text, k] of marks) out.push(`[${k}] ${text}`);
  out.push(...notes);
  out.push("");
  out.push("Ratios fluxion/peer in time (> 1: fluxion takes that many times longer):");
  for (const r of results) {
    const parts = peers
      .filter((p) => p !== "fluxion")
      .map((p) => {
        const x = ratio(r, p);
        return `${p} ${x === undefined ? "-" : `${fmt(x)}x`}`;
      });
    out.push(`  ${r.workload.title.padEnd(titleWidth)}${parts.join(", ")}`);
  }
  return out.join("\n");
}

/** The JSON written to bench/results/latest.json. */
export function toJson(
  results: WorkloadResult[],
  peers: string[],
  extra: Record<string, unknown>,
): unknown {
  return {
    ...extra,
    ratioDefinition: "fluxion time / peer time (> 1: fluxion slower)",
    workloads: results.map((r) => ({
      id: r.workload.id,
      title: r.workload.title,
      unit: r.workload.unit,
      direction: unitNote[r.workload.unit],
      results: Object.fromEntries(peers.map((p) => [p, r.cells.get(p) ?? null])),
      ratios: Object.fromEntries(
        peers.filter((p) => p !== "fluxion").map((p) => [p, ratio(r, p) ?? null]),
      ),
    })),
  };
}

/**
 * `npm run bench`: fluxion against jax-js (wasm), TensorFlow.js (wasm) and plain JS loops, in one
 * process. Prints a table and the fluxion/peer ratios, and writes `bench/results/latest.json`.
 *
 * Every number is the median over several timed runs after warm-up runs; each run ends at the
 * library's sync point (see bench/peers/*.ts). The libraries of one workload are timed together,
 * one run each per round, so that a noisy machine's slow spells hit them alike. Workloads are in bench/workloads.ts.
 * `npm run bench -- matmul mlp` runs only the workloads whose id starts with one of the words.
 * The differential-equation benchmarks (ids starting with "ode") are in bench/ode.ts, with a
 * table of their own: their rows are solver implementations rather than array libraries.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { measureTogether, type Case } from "./measure.js";
import { odeSelected, runOde } from "./ode.js";
import { fluxion, fluxion1 } from "./peers/fluxion.js";
import { jaxjs } from "./peers/jax.js";
import { plain } from "./peers/plain.js";
import { tfjs } from "./peers/tfjs.js";
import { fmt, formatReport, toJson, type Cell, type WorkloadResult } from "./report.js";
import { resultKey, workloads, type MlpCase, type Peer } from "./workloads.js";

const started = performance.now();
const log = (s: string): void => void process.stderr.write(s);
const message = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 160);

const only = process.argv.slice(2);
const selected = workloads().filter(
  (w) => only.length === 0 || only.some((prefix) => w.id.startsWith(prefix)),
);

// Libraries that fail to start are reported and left out of the measurements.
const descriptions: Record<string, string> = {};
const peers: Peer[] = [];
for (const peer of selected.length > 0 ? [fluxion, fluxion1, jaxjs, tfjs, plain] : [fluxion]) {
  try {
    descriptions[peer.name] = await peer.setup();
    peers.push(peer);
  } catch (e) {
    descriptions[peer.name] = `failed to start: ${message(e)}`;
  }
}
console.log("Libraries:");
for (const [name, text] of Object.entries(descriptions))
  console.log(`  ${name.padEnd(10)} ${text}`);
console.log(`Machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), node ${process.version}`);
console.log("");

const medians = new Map<string, number>();
const mlpLosses: Record<string, [number, number]> = {};
const results: WorkloadResult[] = [];

for (const workload of selected) {
  const cells = new Map<string, Cell>();
  results.push({ workload, cells });
  // Every library's case is made first, then all are timed together in interleaved rounds.
  const made: { peer: Peer; made: Case }[] = [];
  for (const peer of peers) {
    const skip = workload.skip?.(peer, medians);
    if (skip !== undefined) {
      cells.set(peer.name, { status: "skipped", reason: skip });
      continue;
    }
    try {
      const c = await workload.make(peer);
      if (c === undefined) cells.set(peer.name, { status: "n/a", reason: "not applicable" });
      else made.push({ peer, made: c });
    } catch (e) {
      cells.set(peer.name, { status: "error", reason: message(e) });
      log(`${workload.title} · ${peer.name}: error: ${message(e)}\n`);
    }
  }
  log(`${workload.title} · ${made.map((m) => m.peer.name).join(", ")} ... `);
  const timings = await measureTogether(
    made.map(
      ({ made }) =>
        () =>
          made.run(),
    ),
    workload.options,
  );
  const shown: string[] = [];
  made.forEach(({ peer, made }, i) => {
    const t = timings[i]!;
    if (t instanceof Error) {
      cells.set(peer.name, { status: "error", reason: message(t) });
      shown.push(`${peer.name} error`);
    } else {
      const value = workload.value(t.medianMs);
      medians.set(resultKey(workload.id, peer.name), t.medianMs);
      cells.set(peer.name, {
        status: "ok",
        value,
        medianMs: t.medianMs,
        minMs: t.minMs,
        reps: t.reps,
        ...(made.note === undefined ? {} : { note: `${peer.name}: ${made.note}` }),
      });
      if ("losses" in made) mlpLosses[peer.name] = (made as MlpCase).losses;
      shown.push(`${peer.name} ${fmt(value)}`);
    }
    made.dispose?.();
  });
  log(`${shown.join(", ")} ${workload.unit}\n`);
}

const names = peers.map((p) => p.name);
if (selected.length > 0) {
  console.log(
    formatReport(results, names, [
      "Medians of timed runs after warm-up, the libraries of a row timed in interleaved rounds.",
      "Sync points: fluxion and plain JS compute synchronously;",
      "jax-js: blockUntilReady (MLP: data() of the loss); tfjs: await data() (a read-back copy).",
      "First call: a fresh jit object per run in a warm process (library-wide kernel caches stay warm).",
      "Eager add: independent adds, all results kept and realised, divided by the number of adds.",
    ]),
  );
}

// The MLP implementations must agree: same data, same initial parameters, same loss.
const reference = Object.values(mlpLosses)[0];
let agree = true;
if (reference !== undefined) {
  console.log("");
  console.log("MLP cross-check, loss at step 1 and step 2 (after one SGD update):");
  for (const [name, [l0, l1]] of Object.entries(mlpLosses)) {
    agree &&= Math.abs(l0 - reference[0]) <= 1e-3 * Math.abs(reference[0]);
    agree &&= Math.abs(l1 - reference[1]) <= 1e-3 * Math.abs(reference[1]);
    console.log(`  ${name.padEnd(10)} ${l0.toFixed(6)} ${l1.toFixed(6)}`);
  }
  console.log(agree ? "  agree to 1e-3 (relative)" : "  DISAGREE: some implementation is wrong");
}

// The differential-equation benchmarks.
let odeResults = null;
if (odeSelected(only)) {
  console.log("");
  odeResults = await runOde(only);
  Object.assign(descriptions, odeResults.libraries);
}

const seconds = (performance.now() - started) / 1000;
console.log("");
console.log(`Total ${seconds.toFixed(1)} s.`);

mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const json = toJson(results, names, {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? null,
  libraries: descriptions,
  mlpLosses,
  mlpLossesAgree: reference === undefined ? null : agree,
  ode: odeResults,
  totalSeconds: seconds,
  filter: only.length === 0 ? null : only,
});
writeFileSync(
  new URL("./results/latest.json", import.meta.url),
  JSON.stringify(json, null, 2) + "\n",
);

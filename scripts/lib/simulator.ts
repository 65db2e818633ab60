/**
 * `npm run simulate`: a fleet of moving vehicles written at a steady rate, for demos and benchmarks. Write n of the
 * run is due at n / (vehicles × hz) seconds and goes to vehicle n mod vehicles, so each vehicle writes `hz` times a
 * second and the fleet's writes are spread evenly over time instead of arriving in bursts. Writes that are due
 * together (high rates) share a batch; when the destination falls behind, due writes queue and the status line
 * shows the backlog instead of the rate silently dropping.
 */
import { parseArgs } from 'node:util';
import { type Area, createFleet, defaultArea, vehicleItem } from '@real-time-platform/local-runtime/vehicles';
import { count, positiveInt, positiveNumber, UsageError } from './cli-support';
import type { Transport, TransportConfig } from './transport';
import { transportConfigOf, transportFlagSpecs, transportFlagsHelp } from './transport-flags';

/** `npm run simulate -- --help`. */
export const SIMULATE_HELP = `npm run simulate — moving vehicles for demos and benchmarks

Usage:
  npm run simulate -- [--vehicles N] [--hz N] [--duration SECONDS] [options]

Each vehicle (v-001, v-002 …) drives around a city centre and writes its state hz times a second as
  {"<key attribute>":"v-001","itemId":"latest","lat","lon","speed" (km/h),"heading" (°),"battery" (%),"charging","ts"}
with writes spread evenly over time. Subscribe to one with: npx wscat -c "ws://localhost:3001/develop?realTimeItemKey=v-001"

Fleet:
  --vehicles N                 number of vehicles (10)
  --hz N                       writes per second per vehicle, fractions allowed (1)
  --duration SECONDS           stop after this long (default: until Ctrl-C)
  --seed S                     the same seed drives the same paths (default: random, printed at the end)
  --center LAT,LON             centre of the area (52.52,13.405 — Berlin)
  --radius KM                  vehicles stay within about this distance of the centre (5)
  --id-prefix P                vehicle ids are P001, P002 … (v-)

${transportFlagsHelp}
Sending:
  --concurrency N              requests in flight (8)

Output:
  --status-interval SECONDS    how often the status line prints (5)
  --json                       print the summary as JSON on stdout
  -q, --quiet                  no status lines
  -h, --help                   this text

Exit code: 0 every write succeeded; 1 failed or rejected writes, an unreachable destination, or a usage error.

Examples:
  npm run simulate -- --vehicles 50 --hz 2
  npm run simulate -- --vehicles 5 --hz 1 --duration 60 --to dynamodb --seed 7
  npm run simulate -- --vehicles 200 --hz 5 --duration 30 --concurrency 16 --json
`;

/** A parsed `npm run simulate` command line. */
export type SimulateCommand =
  | { help: true }
  | {
      help: false;
      vehicles: number;
      hz: number;
      durationS?: number;
      seed: number;
      area: Area;
      idPrefix: string;
      transport: TransportConfig;
      concurrency: number;
      statusIntervalS: number;
      json: boolean;
      quiet: boolean;
    };

/** Parses simulate's arguments. */
export function parseSimulateArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): SimulateCommand {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      ...transportFlagSpecs,
      vehicles: { type: 'string' },
      hz: { type: 'string' },
      duration: { type: 'string' },
      seed: { type: 'string' },
      center: { type: 'string' },
      radius: { type: 'string' },
      'id-prefix': { type: 'string' },
      concurrency: { type: 'string' },
      'status-interval': { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { help: true };
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (options start with --)`);
  let area = defaultArea;
  if (values.center !== undefined) {
    const [lat, lon] = values.center.split(',').map((part) => Number(part.trim()));
    if (
      values.center.split(',').length !== 2 ||
      !Number.isFinite(lat) ||
      !Number.isFinite(lon) ||
      Math.abs(lat as number) > 85 ||
      Math.abs(lon as number) > 180
    ) {
      throw new UsageError(`--center must be LAT,LON (e.g. 48.8566,2.3522), got "${values.center}"`);
    }
    area = { ...area, lat: lat as number, lon: lon as number };
  }
  area = { ...area, radiusKm: positiveNumber('--radius', values.radius, area.radiusKm) };
  const seed =
    values.seed === undefined
      ? Math.floor(Math.random() * 1_000_000)
      : /^\d+$/.test(values.seed)
        ? Number(values.seed) >>> 0
        : undefined;
  if (seed === undefined) throw new UsageError(`--seed must be a whole number, got "${values.seed}"`);
  const durationS = positiveNumber('--duration', values.duration);
  return {
    help: false,
    vehicles: positiveInt('--vehicles', values.vehicles, 10, 100_000),
    hz: positiveNumber('--hz', values.hz, 1),
    ...(durationS !== undefined ? { durationS } : {}),
    seed,
    area,
    idPrefix: values['id-prefix'] ?? 'v-',
    transport: transportConfigOf(values, env),
    concurrency: positiveInt('--concurrency', values.concurrency, 8, 256),
    statusIntervalS: positiveNumber('--status-interval', values['status-interval'], 5),
    json: values.json === true,
    quiet: values.quiet === true,
  };
}

/** Totals of a simulation, also passed to status callbacks. */
export interface SimulationStats {
  /** Writes generated (due and queued or sent). */
  generated: number;
  written: number;
  rejected: number;
  failed: number;
  inFlight: number;
  /** Due writes waiting for a free request slot. */
  queued: number;
  elapsedMs: number;
}

/** The outcome of a simulation. */
export interface SimulationSummary extends SimulationStats {
  vehicles: number;
  hz: number;
  seed: number;
  /** Writes per second achieved. */
  rate: number;
  /** Request round trips, ms. */
  latencyMs: { p50: number; p95: number; max: number };
  /** The first few distinct reasons of rejected or failed writes. */
  reasons: string[];
  aborted?: string;
}

/** Options of one simulation run. */
export interface SimulationOptions {
  vehicles: number;
  hz: number;
  durationS?: number;
  seed: number;
  area?: Area;
  idPrefix?: string;
  keyAttribute: string;
  transport: Transport;
  concurrency?: number;
  /** Calls onStatus this often, ms. */
  statusIntervalMs?: number;
  onStatus?: (stats: Readonly<SimulationStats>) => void;
  /** Stops generating writes; the queued and in-flight ones still go out. */
  signal?: AbortSignal;
  /** Monotonic ms clock (performance.now) and wall clock (the items' ts). */
  clock?: () => number;
  wallClock?: () => number;
}

/** Write n's due time is n / rate; the loop wakes at most every 50 ms and at least every 5 ms. */
function tickMs(rate: number): number {
  return Math.min(50, Math.max(5, 1000 / rate));
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Runs the fleet until the duration ends or the signal aborts; resolves with the summary once all writes settled. */
export async function runSimulation(options: SimulationOptions): Promise<SimulationSummary> {
  const clock = options.clock ?? (() => performance.now());
  const wallClock = options.wallClock ?? Date.now;
  const fleet = createFleet(options.vehicles, options.seed, options.area, options.idPrefix);
  const rate = options.vehicles * options.hz;
  const total = options.durationS === undefined ? Number.POSITIVE_INFINITY : Math.ceil(options.durationS * rate);
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const stepS = 1 / options.hz;
  const started = clock();
  const stats: SimulationStats = {
    generated: 0,
    written: 0,
    rejected: 0,
    failed: 0,
    inFlight: 0,
    queued: 0,
    elapsedMs: 0,
  };
  const queue: Record<string, unknown>[] = [];
  const latencies: number[] = [];
  const reasons = new Set<string>();
  let aborted: string | undefined;
  const moved = new Array<boolean>(options.vehicles).fill(false);

  const send = async (batch: Record<string, unknown>[]): Promise<void> => {
    stats.inFlight++;
    const sentAt = clock();
    try {
      const outcomes = await options.transport.send(batch);
      latencies.push(clock() - sentAt);
      for (const outcome of outcomes) {
        if (outcome.status === 'written') stats.written++;
        else {
          if (outcome.status === 'rejected') stats.rejected++;
          else stats.failed++;
          if (reasons.size < 5 && outcome.reason) reasons.add(outcome.reason);
        }
      }
    } catch (error) {
      // Unreachable or refused (TransportAbort): stop generating; the summary says why.
      aborted ??= (error as Error).message;
      stats.failed += batch.length;
    } finally {
      stats.inFlight--;
    }
  };

  const inFlight = new Set<Promise<void>>();
  const pump = () => {
    while (queue.length > 0 && inFlight.size < concurrency && aborted === undefined) {
      const request: Promise<void> = send(queue.splice(0, 25)).finally(() => {
        inFlight.delete(request);
        pump();
      });
      inFlight.add(request);
    }
    stats.queued = queue.length;
  };

  const generateDue = () => {
    const elapsedS = (clock() - started) / 1000;
    const due = Math.min(total, Math.floor(elapsedS * rate) + 1);
    const ts = wallClock();
    while (stats.generated < due) {
      const index = stats.generated % options.vehicles;
      // A vehicle's first write is its starting position; every later one is one write period further on.
      const state = moved[index]
        ? (fleet[index] as (typeof fleet)[number]).step(stepS)
        : (fleet[index] as (typeof fleet)[number]).state;
      moved[index] = true;
      queue.push(vehicleItem(state, options.keyAttribute, ts));
      stats.generated++;
    }
  };

  let statusTimer: NodeJS.Timeout | undefined;
  if (options.onStatus) {
    const report = options.onStatus;
    statusTimer = setInterval(
      () => report({ ...stats, elapsedMs: clock() - started }),
      options.statusIntervalMs ?? 5000,
    );
  }

  await new Promise<void>((resolve) => {
    const tick = () => {
      const stop = options.signal?.aborted || aborted !== undefined || stats.generated >= total;
      if (!stop) generateDue();
      pump();
      if (stop || stats.generated >= total) {
        resolve();
        return;
      }
      // Sleep until the next write is due (bounded), so low rates don't spin and high rates stay smooth.
      const nextDueMs = started + (stats.generated / rate) * 1000 - clock();
      setTimeout(tick, Math.max(1, Math.min(tickMs(rate), nextDueMs)));
    };
    tick();
  });
  // Drain: what was due still goes out, unless the destination is gone.
  while (inFlight.size > 0 || (queue.length > 0 && aborted === undefined)) {
    pump();
    await Promise.race(inFlight);
  }
  if (statusTimer) clearInterval(statusTimer);
  stats.queued = queue.length;
  if (aborted !== undefined) stats.failed += queue.splice(0).length;
  stats.elapsedMs = clock() - started;
  const sorted = latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    ...stats,
    queued: 0,
    vehicles: options.vehicles,
    hz: options.hz,
    seed: options.seed,
    rate: stats.elapsedMs > 0 ? round((stats.written * 1000) / stats.elapsedMs) : 0,
    latencyMs: {
      p50: round(percentile(sorted, 50)),
      p95: round(percentile(sorted, 95)),
      max: round(sorted.at(-1) ?? 0),
    },
    reasons: [...reasons],
    ...(aborted !== undefined ? { aborted } : {}),
  };
}

/** One status line: "12s  100.0 writes/s  written 1,200  errors 0  in flight 1  queued 0". */
export function formatStatus(stats: Readonly<SimulationStats>, previous?: Readonly<SimulationStats>): string {
  const seconds = stats.elapsedMs / 1000;
  const window = previous ? (stats.elapsedMs - previous.elapsedMs) / 1000 : seconds;
  const done = stats.written - (previous?.written ?? 0);
  const perSecond = window > 0 ? done / window : 0;
  return (
    `${Math.round(seconds)}s  ${perSecond.toFixed(1)} writes/s  written ${count(stats.written)}  ` +
    `errors ${count(stats.rejected + stats.failed)}  in flight ${stats.inFlight}  queued ${count(stats.queued)}\n`
  );
}

/** The end-of-run summary. */
export function formatSimulationSummary(summary: SimulationSummary): string {
  const lines = [
    `${summary.vehicles} vehicles × ${summary.hz} Hz for ${(summary.elapsedMs / 1000).toFixed(1)} s (seed ${summary.seed})`,
    `written ${count(summary.written)} · rejected ${count(summary.rejected)} · failed ${count(summary.failed)} · ` +
      `${summary.rate} writes/s (target ${Math.round(summary.vehicles * summary.hz * 10) / 10}/s)`,
    `request latency p50 ${summary.latencyMs.p50} ms · p95 ${summary.latencyMs.p95} ms · max ${summary.latencyMs.max} ms`,
  ];
  for (const reason of summary.reasons) lines.push(`  ${reason}`);
  if (summary.aborted !== undefined) lines.push(`stopped early: ${summary.aborted}`);
  return `${lines.join('\n')}\n`;
}

/** 0 when every write succeeded, else 1. */
export function simulationExitCode(summary: SimulationSummary): number {
  return summary.failed > 0 || summary.rejected > 0 || summary.aborted !== undefined ? 1 : 0;
}

import {
  formatSimulationSummary,
  formatStatus,
  runSimulation,
  type SimulationStats,
  simulationExitCode,
} from '../../scripts/lib/simulator';
import { type Transport, TransportAbort } from '../../scripts/lib/transport';

function recordingTransport(delayMs = 0): Transport & { items: Array<{ item: Record<string, unknown>; at: number }> } {
  const started = performance.now();
  const transport = {
    description: 'memory',
    items: [] as Array<{ item: Record<string, unknown>; at: number }>,
    async send(batch: readonly unknown[]) {
      const at = performance.now() - started;
      for (const item of batch) transport.items.push({ item: item as Record<string, unknown>, at });
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return batch.map(() => ({ status: 'written' as const }));
    },
    close: async () => undefined,
  };
  return transport;
}

describe('simulation run', () => {
  test('writes vehicles × hz × duration items, round robin, spread over the run', async () => {
    const transport = recordingTransport();
    const summary = await runSimulation({
      vehicles: 4,
      hz: 5,
      durationS: 1,
      seed: 1,
      keyAttribute: 'vehicleId',
      transport,
    });
    expect(summary).toMatchObject({ generated: 20, written: 20, rejected: 0, failed: 0, vehicles: 4, hz: 5, seed: 1 });
    expect(simulationExitCode(summary)).toBe(0);
    const ids = transport.items.map(({ item }) => item.vehicleId);
    expect(ids.slice(0, 8)).toEqual(['v-001', 'v-002', 'v-003', 'v-004', 'v-001', 'v-002', 'v-003', 'v-004']);
    for (const id of ['v-001', 'v-002', 'v-003', 'v-004']) expect(ids.filter((i) => i === id)).toHaveLength(5);
    // Evenly spread, not a burst: the last write goes out about 0.95 s in, and no 100 ms window holds most of them.
    const last = transport.items.at(-1)?.at ?? 0;
    expect(last).toBeGreaterThan(800);
    const firstHalf = transport.items.filter(({ at }) => at < 500).length;
    expect(firstHalf).toBeGreaterThanOrEqual(9);
    expect(firstHalf).toBeLessThanOrEqual(11);
    expect(transport.items[0]?.item).toMatchObject({ itemId: 'latest', charging: false });
    expect(Object.keys(transport.items[0]?.item ?? {}).sort()).toEqual(
      ['battery', 'charging', 'heading', 'itemId', 'lat', 'lon', 'speed', 'ts', 'vehicleId'].sort(),
    );
  });

  test('the same seed gives the same positions whatever the timing', async () => {
    const a = recordingTransport();
    const b = recordingTransport(15);
    const common = { vehicles: 3, hz: 10, durationS: 0.5, seed: 77, keyAttribute: 'k' };
    await runSimulation({ ...common, transport: a, concurrency: 8 });
    await runSimulation({ ...common, transport: b, concurrency: 1 });
    const positions = (t: typeof a) => t.items.map(({ item }) => [item.k, item.lat, item.lon, item.speed]);
    expect(positions(b)).toEqual(positions(a));
  });

  test('a slow destination builds a queue instead of losing writes; everything still goes out', async () => {
    const transport = recordingTransport(100);
    const statuses: SimulationStats[] = [];
    const summary = await runSimulation({
      vehicles: 50,
      hz: 4,
      durationS: 0.5,
      seed: 3,
      keyAttribute: 'k',
      transport,
      concurrency: 1,
      statusIntervalMs: 100,
      onStatus: (s) => statuses.push({ ...s }),
    });
    expect(summary.written).toBe(100);
    expect(statuses.some((s) => s.queued > 0)).toBe(true);
    expect(summary.latencyMs.p50).toBeGreaterThanOrEqual(95);
  });

  test('stops when the signal aborts, and reports', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const summary = await runSimulation({
      vehicles: 10,
      hz: 10,
      seed: 1,
      keyAttribute: 'k',
      transport: recordingTransport(),
      signal: controller.signal,
    });
    expect(summary.written).toBeGreaterThanOrEqual(25);
    expect(summary.written).toBeLessThanOrEqual(40);
    expect(summary.elapsedMs).toBeLessThan(1000);
  });

  test('an unreachable destination ends the run with the reason and exit code 1', async () => {
    const transport: Transport = {
      description: 'down',
      send: async () => {
        throw new TransportAbort('cannot reach http://localhost:3000 (ECONNREFUSED)');
      },
      close: async () => undefined,
    };
    const summary = await runSimulation({ vehicles: 2, hz: 10, seed: 1, keyAttribute: 'k', transport });
    expect(summary.aborted).toBe('cannot reach http://localhost:3000 (ECONNREFUSED)');
    expect(summary.written).toBe(0);
    expect(simulationExitCode(summary)).toBe(1);
    expect(formatSimulationSummary(summary)).toContain('stopped early: cannot reach http://localhost:3000');
  });

  test('rejected writes are counted with their reasons', async () => {
    const transport: Transport = {
      description: 'picky',
      send: async (batch) => batch.map(() => ({ status: 'rejected' as const, reason: 'invalid "k": reserved' })),
      close: async () => undefined,
    };
    const summary = await runSimulation({ vehicles: 1, hz: 10, durationS: 0.2, seed: 1, keyAttribute: 'k', transport });
    expect(summary).toMatchObject({ written: 0, rejected: 2, reasons: ['invalid "k": reserved'] });
    expect(simulationExitCode(summary)).toBe(1);
  });

  test('status line and summary text', () => {
    const stats: SimulationStats = {
      generated: 1200,
      written: 1200,
      rejected: 1,
      failed: 2,
      inFlight: 1,
      queued: 0,
      elapsedMs: 12_000,
    };
    expect(formatStatus(stats, { ...stats, written: 700, elapsedMs: 7000 })).toBe(
      '12s  100.0 writes/s  written 1,200  errors 3  in flight 1  queued 0\n',
    );
    const text = formatSimulationSummary({
      ...stats,
      vehicles: 50,
      hz: 2,
      seed: 42,
      rate: 99.8,
      latencyMs: { p50: 4, p95: 9.5, max: 20 },
      reasons: [],
    });
    expect(text).toContain('50 vehicles × 2 Hz for 12.0 s (seed 42)');
    expect(text).toContain('written 1,200 · rejected 1 · failed 2 · 99.8 writes/s (target 100/s)');
    expect(text).toContain('request latency p50 4 ms · p95 9.5 ms · max 20 ms');
  });
});

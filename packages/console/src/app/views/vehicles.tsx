import type { Item, RealtimeClient } from '@real-time-platform/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type ConsoleConfig, call, createClient } from '../admin';

interface SimulatorStatus {
  running: boolean;
  vehicles: number;
  keys: string[];
  writes: number;
  errors: number;
}

const SIZE = 640;
/** Degrees either side of the fleet's centre the canvas shows (about 5 km around Berlin Mitte). */
const SPAN = { lat: 0.05, lon: 0.08 };
const CENTRE = { lat: 52.52, lon: 13.405 };

/** The simulator's vehicles on a plain coordinate canvas (no map tiles: no internet), and its start/stop. */
export function VehiclesView({ config, simulator }: { config: ConsoleConfig; simulator: SimulatorStatus | undefined }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [positions, setPositions] = useState<Map<string, Item>>(new Map());
  const [problem, setProblem] = useState('');
  const keys = simulator?.keys.join(',') ?? '';

  useEffect(() => {
    if (keys === '') return;
    const client: RealtimeClient = createClient(config, 'console-vehicles');
    for (const key of keys.split(',')) {
      const subscription = client.subscribe(key, { snapshot: true });
      subscription.on('change', () => {
        const latest = subscription.items.get('latest');
        if (latest) setPositions((all) => new Map(all).set(key, latest));
      });
    }
    return () => void client.close();
  }, [keys]);

  useEffect(() => {
    const context = canvas.current?.getContext('2d');
    if (!context) return;
    context.clearRect(0, 0, SIZE, SIZE);
    context.strokeStyle = '#8884';
    context.strokeRect(0.5, 0.5, SIZE - 1, SIZE - 1);
    context.font = '11px system-ui';
    for (const [key, item] of positions) {
      const x = ((Number(item.lon) - CENTRE.lon) / SPAN.lon / 2 + 0.5) * SIZE;
      const y = (0.5 - (Number(item.lat) - CENTRE.lat) / SPAN.lat / 2) * SIZE;
      context.fillStyle = item.charging ? '#d33' : '#2a7ae2';
      context.beginPath();
      context.arc(x, y, 4, 0, 2 * Math.PI);
      context.fill();
      // fillText draws text: a key can never become markup.
      context.fillText(`${key} ${Number(item.speed).toFixed(0)} km/h`, x + 6, y + 4);
    }
  }, [positions]);

  const toggle = async (running: boolean) => {
    try {
      setProblem('');
      await call('/admin/simulator', { method: 'POST', body: { running, vehicles: 12 } });
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  };

  return (
    <section id="vehicles" class="panel">
      <h2>Vehicles</h2>
      <p>
        <button type="button" onClick={() => void toggle(!simulator?.running)}>
          {simulator?.running ? 'Stop the simulator' : 'Start the simulator'}
        </button>{' '}
        <span id="simulator-status">
          {simulator?.running ? 'running' : 'stopped'}: {simulator?.vehicles ?? 0} vehicles, {simulator?.writes ?? 0}{' '}
          writes, {simulator?.errors ?? 0} errors
        </span>
      </p>
      {problem && <p class="problem">{problem}</p>}
      <canvas ref={canvas} width={SIZE} height={SIZE} />
      <p class="muted" id="vehicle-count">
        {positions.size} vehicles seen
      </p>
    </section>
  );
}

import {
  createFleet,
  defaultArea,
  distanceMetres,
  seededRandom,
  seedOf,
  Vehicle,
  vehicleId,
  vehicleItem,
} from '../../src/simulator/vehicles';

function drive(seed: number, steps: number, dt = 0.5) {
  const vehicle = new Vehicle('v-001', seed);
  const states = [{ ...vehicle.state }];
  for (let i = 0; i < steps; i++) states.push({ ...vehicle.step(dt) });
  return states;
}

describe('vehicle model', () => {
  test('the PRNG is deterministic and uniform-ish in [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const values = Array.from({ length: 10_000 }, () => a());
    expect(values.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
    expect(seededRandom(43)()).not.toBe(seededRandom(42)());
    expect(seedOf('demo')).toBe(seedOf('demo'));
    expect(seedOf('demo')).not.toBe(seedOf('demp'));
  });

  test('the same seed drives the same path; another seed another path', () => {
    expect(drive(7, 200)).toEqual(drive(7, 200));
    expect(drive(8, 200)).not.toEqual(drive(7, 200));
  });

  test("a vehicle's path depends on its seed and index only, not on the fleet size", () => {
    const small = createFleet(3, 99);
    const large = createFleet(50, 99);
    for (let i = 0; i < 100; i++) {
      small[2]?.step(1);
      large[2]?.step(1);
    }
    expect(small[2]?.state).toEqual(large[2]?.state);
    expect(large.map((v) => v.state.id).slice(0, 3)).toEqual(['v-001', 'v-002', 'v-003']);
    expect(new Set(large.map((v) => `${v.state.lat},${v.state.lon}`)).size).toBe(50);
  });

  test('positions stay plausible for an hour of driving: in the area, plausible speeds and moves', () => {
    const fleet = createFleet(10, 2026);
    const dt = 1;
    // Worst values over the run, checked once at the end (an expect per step would take minutes).
    let farthest = 0;
    let minSpeed = Number.POSITIVE_INFINITY;
    let maxSpeed = 0;
    let headingOutOfRange = 0;
    let batteryOutOfRange = 0;
    let jumps = 0;
    for (let step = 0; step < 3600; step++) {
      for (const vehicle of fleet) {
        const before = { ...vehicle.state };
        const s = vehicle.step(dt);
        farthest = Math.max(farthest, distanceMetres(defaultArea, s));
        minSpeed = Math.min(minSpeed, s.speed);
        maxSpeed = Math.max(maxSpeed, s.speed);
        if (s.heading < 0 || s.heading >= 360) headingOutOfRange++;
        if (s.battery < 0 || s.battery > 100) batteryOutOfRange++;
        // The move matches the speed: no jumps.
        if (distanceMetres(before, s) > (Math.max(before.speed, s.speed) / 3.6) * dt + 0.01) jumps++;
      }
    }
    // Within the area plus the distance a vehicle covers while turning back.
    expect(farthest).toBeLessThan(defaultArea.radiusKm * 1000 + 1000);
    expect(farthest).toBeGreaterThan(defaultArea.radiusKm * 1000 * 0.8);
    expect(minSpeed).toBeGreaterThanOrEqual(0);
    expect(maxSpeed).toBeLessThanOrEqual(110);
    expect(maxSpeed).toBeGreaterThan(30);
    expect({ headingOutOfRange, batteryOutOfRange, jumps }).toEqual({
      headingOutOfRange: 0,
      batteryOutOfRange: 0,
      jumps: 0,
    });
  });

  test('vehicles actually move, and a low battery leads to a charging stop', () => {
    const vehicle = new Vehicle('v-001', 5);
    const start = { ...vehicle.state };
    let charged = false;
    let moved = 0;
    for (let i = 0; i < 4 * 3600; i++) {
      const before = { ...vehicle.state };
      const s = vehicle.step(1);
      moved += distanceMetres(before, s);
      if (s.charging) {
        charged = true;
        expect(s.speed).toBe(0);
      }
    }
    expect(distanceMetres(start, vehicle.state)).toBeGreaterThan(0);
    expect(moved).toBeGreaterThan(10_000);
    expect(charged).toBe(true);
  });

  test('ids and items', () => {
    expect(vehicleId(0)).toBe('v-001');
    expect(vehicleId(49)).toBe('v-050');
    expect(vehicleId(999)).toBe('v-1000');
    expect(vehicleId(0, 'bus-')).toBe('bus-001');
    const item = vehicleItem(
      {
        id: 'v-007',
        lat: 52.123456789,
        lon: 13.987654321,
        speed: 42.26,
        heading: 359.96,
        battery: 80.04,
        charging: false,
      },
      'vehicleId',
      1_763_800_000_000,
    );
    expect(item).toEqual({
      vehicleId: 'v-007',
      itemId: 'latest',
      lat: 52.123457,
      lon: 13.987654,
      speed: 42.3,
      heading: 0,
      battery: 80,
      charging: false,
      ts: 1_763_800_000_000,
    });
  });
});

/**
 * The vehicle model of `npm run simulate` and the console's simulator: vehicles driving around a city centre with a wandering heading, speed
 * that drifts around a cruising speed, a battery that drains with distance and recharges when low. Every vehicle
 * draws from its own seeded generator, so a seed gives the same paths whatever the fleet size or write rate timing.
 */

/** A deterministic PRNG (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from any text (FNV-1a), so `--seed demo` works as well as `--seed 42`. */
export function seedOf(text: string): number {
  let hash = 0x811c9dc5;
  for (const char of text) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** A standard normal deviate (Box–Muller) from a uniform generator. */
function gaussian(random: () => number): number {
  const u = Math.max(random(), Number.EPSILON);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Where the fleet drives. */
export interface Area {
  lat: number;
  lon: number;
  radiusKm: number;
}

/** Berlin Mitte, 5 km around. */
export const defaultArea: Area = { lat: 52.52, lon: 13.405, radiusKm: 5 };

/** A vehicle's state after a step. */
export interface VehicleState {
  id: string;
  lat: number;
  lon: number;
  /** km/h. */
  speed: number;
  /** Degrees clockwise from north, [0, 360). */
  heading: number;
  /** Percent. */
  battery: number;
  charging: boolean;
}

const METRES_PER_DEGREE_LAT = 111_320;
const MAX_SPEED_KMH = 110;
const toRadians = (deg: number) => (deg * Math.PI) / 180;
const toDegrees = (rad: number) => (rad * 180) / Math.PI;
const normaliseHeading = (deg: number) => ((deg % 360) + 360) % 360;

/** Metres between two points (equirectangular: exact enough over a city). */
export function distanceMetres(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const x = toRadians(b.lon - a.lon) * Math.cos(toRadians((a.lat + b.lat) / 2));
  const y = toRadians(b.lat - a.lat);
  return Math.sqrt(x * x + y * y) * 6_371_000;
}

/** One simulated vehicle. */
export class Vehicle {
  readonly state: VehicleState;
  private readonly random: () => number;
  /** The speed this vehicle drifts back to, km/h. */
  private readonly cruise: number;

  constructor(
    id: string,
    seed: number,
    private readonly area: Area = defaultArea,
  ) {
    this.random = seededRandom(seed);
    const r = this.random;
    // Uniform over the disc: radius ∝ √u, so starts don't cluster in the middle.
    const distance = Math.sqrt(r()) * area.radiusKm * 1000 * 0.8;
    const bearing = r() * 2 * Math.PI;
    this.cruise = 25 + r() * 35;
    this.state = {
      id,
      lat: area.lat + (distance * Math.cos(bearing)) / METRES_PER_DEGREE_LAT,
      lon: area.lon + (distance * Math.sin(bearing)) / (METRES_PER_DEGREE_LAT * Math.cos(toRadians(area.lat))),
      speed: this.cruise * (0.5 + r()),
      heading: r() * 360,
      battery: 40 + r() * 60,
      charging: false,
    };
  }

  /** Advances the vehicle by `dtSeconds` and returns its new state. */
  step(dtSeconds: number): VehicleState {
    const s = this.state;
    const r = this.random;
    const dt = Math.max(0, dtSeconds);
    // Low battery: pull over and charge (decided at the start of a step, so a reported state never moved at a
    // speed other than the one it shows).
    if (!s.charging && s.battery < 10) s.charging = true;
    if (s.charging) {
      // A charging stop: parked, +1 %/s (quick, so demos see vehicles leave again), off again at 95 %.
      s.speed = 0;
      s.battery = Math.min(100, s.battery + dt);
      if (s.battery >= 95) {
        s.charging = false;
        s.speed = this.cruise * 0.5;
      }
      return s;
    }
    const fromCentre = distanceMetres(this.area, s);
    if (fromCentre > this.area.radiusKm * 1000) {
      // Out of the area: turn towards the centre, at most 45°/s, so paths bend instead of teleporting.
      const towards = normaliseHeading(
        toDegrees(Math.atan2((this.area.lon - s.lon) * Math.cos(toRadians(s.lat)), this.area.lat - s.lat)),
      );
      const turn = ((towards - s.heading + 540) % 360) - 180;
      s.heading = normaliseHeading(s.heading + Math.max(-45 * dt, Math.min(45 * dt, turn)));
    } else {
      s.heading = normaliseHeading(s.heading + gaussian(r) * 10 * Math.sqrt(dt));
    }
    // Mean-reverting speed (Ornstein–Uhlenbeck): noisy, but around the vehicle's cruising speed.
    s.speed += (this.cruise - s.speed) * Math.min(1, 0.2 * dt) + gaussian(r) * 4 * Math.sqrt(dt);
    s.speed = Math.max(0, Math.min(MAX_SPEED_KMH, s.speed));
    const metres = (s.speed / 3.6) * dt;
    s.lat += (metres * Math.cos(toRadians(s.heading))) / METRES_PER_DEGREE_LAT;
    s.lon += (metres * Math.sin(toRadians(s.heading))) / (METRES_PER_DEGREE_LAT * Math.cos(toRadians(s.lat)));
    // About 0.08 %/s at 50 km/h: a full battery lasts ~20 minutes of demo, so charging stops do happen.
    s.battery = Math.max(0, s.battery - dt * (0.01 + s.speed * 0.0014));

    return s;
  }
}

/** "v-001" … ("v-1000" past 999: the padding is for sorting, not a limit). */
export function vehicleId(index: number, prefix = 'v-'): string {
  return `${prefix}${String(index + 1).padStart(3, '0')}`;
}

/** A fleet of `size` vehicles; vehicle i's path depends only on (seed, i). */
export function createFleet(size: number, seed: number, area: Area = defaultArea, prefix = 'v-'): Vehicle[] {
  return Array.from({ length: size }, (_, i) => new Vehicle(vehicleId(i, prefix), seedOf(`${seed}:${i}`), area));
}

/** The item a vehicle's state is written as. */
export function vehicleItem(state: VehicleState, keyAttribute: string, ts: number): Record<string, unknown> {
  const round = (value: number, digits: number) => Number(value.toFixed(digits));
  return {
    [keyAttribute]: state.id,
    itemId: 'latest',
    lat: round(state.lat, 6),
    lon: round(state.lon, 6),
    speed: round(state.speed, 1),
    heading: round(state.heading, 1) % 360,
    battery: round(state.battery, 1),
    charging: state.charging,
    ts,
  };
}

import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createFleet, seedOf, type Vehicle, vehicleItem } from '../simulator/vehicles';
import type { LocalLogger } from '../types';
import type { SimulatorStatus } from './admin-api';

const TICK_MS = 1000;
/** BatchWriteItem's limit. */
const BATCH = 25;

/**
 * The console's simulator: a fleet (the model of `npm run simulate`) written straight into the data table once a
 * second, so its changes go through the stream and the fan-out like any producer's.
 */
export class VehicleSimulator {
  private timer: NodeJS.Timeout | undefined;
  private fleet: Vehicle[] = [];
  private writes = 0;
  private errors = 0;
  private writing = false;

  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly keyAttribute: string,
    private readonly logger: LocalLogger,
  ) {}

  status(): SimulatorStatus {
    return {
      running: this.timer !== undefined,
      vehicles: this.fleet.length,
      keys: this.fleet.map((vehicle) => vehicle.state.id),
      writes: this.writes,
      errors: this.errors,
    };
  }

  start(vehicles: number): SimulatorStatus {
    this.stop();
    this.fleet = createFleet(vehicles, seedOf('console'));
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
    void this.tick();
    return this.status();
  }

  stop(): SimulatorStatus {
    clearInterval(this.timer);
    this.timer = undefined;
    return this.status();
  }

  private async tick(): Promise<void> {
    // A slow DynamoDB must not pile up writes: skip the tick instead.
    if (this.writing) return;
    this.writing = true;
    try {
      const now = Date.now();
      const items = this.fleet.map((vehicle) => vehicleItem(vehicle.step(TICK_MS / 1000), this.keyAttribute, now));
      for (let i = 0; i < items.length; i += BATCH) {
        const requests = items.slice(i, i + BATCH).map((Item) => ({ PutRequest: { Item } }));
        await this.documents.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        this.writes += requests.length;
      }
    } catch (error) {
      this.errors++;
      this.logger.warn(`simulator: write failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.writing = false;
    }
  }
}

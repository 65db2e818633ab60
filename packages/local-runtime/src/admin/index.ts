export { AdminRequestError } from './admin-routes';
export { type ConsoleServer, type ConsoleServerOptions, type StaticAsset, startConsoleServer } from './admin-server';
export { type DeadLetter, type FanoutBatch, FanoutTail } from './fanout-tail';
export type { ConnectionView, KeyView, Overview, ServiceHealth } from './platform-view';
export type { SimulatorStatus } from './vehicle-simulator';

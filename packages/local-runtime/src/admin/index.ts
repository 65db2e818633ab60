export type * from './admin-api';
export { AdminRequestError } from './admin-routes';
export { type ConsoleServer, type ConsoleServerOptions, type StaticAsset, startConsoleServer } from './admin-server';
export { FanoutTail } from './fanout-tail';

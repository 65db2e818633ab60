/**
 * @real-time-platform/test-support — helpers shared by the tests of every package and by the benchmarks (which must
 * not import tests): free ports, recording WebSocket clients, tables built from template.yaml, stream events, a
 * @connections stand-in, the whole local platform started for a test and users signed in to it.
 */
export { freePort } from '@real-time-platform/local-runtime';
export * from './attribute-images';
export * from './browser';
export * from './connection-table';
export * from './faults';
export * from './management-api-stub';
export * from './platform';
export * from './sockets';
export * from './stream-events';
export * from './tables';

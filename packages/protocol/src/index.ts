/**
 * @real-time-platform/protocol — the wire contract shared by the platform's functions and its clients. Browser-safe:
 * it imports nothing but zod.
 */
export * from './actions';
export * from './chat';
export * from './domain-items';
export * from './frame-guard';
export * from './frames';
export * from './keys';
export * from './limits';
export * from './presence';
export * from './seq';
export * from './text';

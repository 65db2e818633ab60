import type { Logger } from '@aws-lambda-powertools/logger';

/** The part of Powertools' Logger the logic uses; tests pass a fake or a silent Logger. */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

import type { LocalLogger } from './types';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const COLOR: Record<LogLevel, string> = { debug: '\x1b[2m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };

/** The runtime's own log lines for people: `12:00:00.123 INFO  message key=value`, coloured on a terminal. */
export function createConsoleLogger(level: LogLevel, stream: NodeJS.WriteStream = process.stderr): LocalLogger {
  const tty = stream.isTTY === true && !process.env.NO_COLOR;
  const write = (at: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[at] < ORDER[level]) return;
    const time = new Date().toISOString().slice(11, 23);
    const label = at.toUpperCase().padEnd(5);
    const extra = fields ? formatFields(fields) : '';
    const text = `${time} ${label} ${message}${extra}`;
    stream.write(tty ? `${COLOR[at]}${text}\x1b[0m\n` : `${text}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

function formatFields(fields: Record<string, unknown>): string {
  let out = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text =
      typeof value === 'string'
        ? value
        : value instanceof Error
          ? (value.stack ?? value.message)
          : JSON.stringify(value);
    // Stacks and other multi-line values go on their own lines, indented, so they stay readable.
    out += text.includes('\n') ? `\n    ${key}: ${text.replaceAll('\n', '\n    ')}` : ` ${key}=${text}`;
  }
  return out;
}

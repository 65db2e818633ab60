import type { LocalLogger } from '../../src/types';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

/** A LocalLogger that keeps every line (in `lines`, or the array given), for tests that assert what was said. */
export function recordingLogger(
  lines: LogLine[] = [],
): LocalLogger & { lines: LogLine[]; messages(level?: LogLine['level']): string[] } {
  const at = (level: LogLine['level']) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, ...(fields ? { fields } : {}) });
  };
  return {
    lines,
    messages: (level) => lines.filter((line) => level === undefined || line.level === level).map((l) => l.message),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

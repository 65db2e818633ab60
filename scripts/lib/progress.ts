/**
 * Progress output on stderr: a cli-progress bar on a terminal, a plain line every few seconds otherwise (CI logs,
 * files). Nothing appears for a run that ends before the first delay, so small inputs print just their summary.
 */
import { Presets, SingleBar } from 'cli-progress';
import { count } from './cli-support';
import type { Counters } from './produce-core';

/** Receives counters as they change; stop() before printing the summary. */
export interface ProgressReporter {
  update(counters: Readonly<Counters>): void;
  stop(): void;
}

/** Options of a progress reporter. */
export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Bar by bytes when the input size is known (files); by items otherwise. */
  totalBytes?: number;
  bytesRead?: () => number;
  /** Delay before anything shows, ms (500). */
  delayMs?: number;
  /** Interval of plain lines when not on a terminal, ms (5000). */
  intervalMs?: number;
  now?: () => number;
}

const counterText = (c: Readonly<Counters>) =>
  `read ${count(c.read)} · written ${count(c.written)} · rejected ${count(c.rejected)} · failed ${count(c.failed)}`;

/** A reporter that shows nothing (--quiet, --json). */
export const silentProgress: ProgressReporter = { update: () => undefined, stop: () => undefined };

/** The reporter for this stream: a bar when it is a TTY, periodic lines when it is not. */
export function createProgress(options: ProgressOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const started = now();
  const delayMs = options.delayMs ?? 500;
  let latest: Counters = { read: 0, written: 0, rejected: 0, failed: 0 };
  const rate = () => {
    const seconds = (now() - started) / 1000;
    return seconds > 0 ? Math.round(latest.written / seconds) : 0;
  };

  if (!stream.isTTY) {
    const intervalMs = options.intervalMs ?? 5000;
    const timer = setInterval(() => {
      const seconds = Math.round((now() - started) / 1000);
      const share =
        options.totalBytes && options.bytesRead
          ? ` (${Math.floor((100 * options.bytesRead()) / Math.max(1, options.totalBytes))}% of the input)`
          : '';
      stream.write(`${seconds}s ${counterText(latest)} · ${count(rate())}/s${share}\n`);
    }, intervalMs);
    timer.unref();
    return {
      update: (c) => {
        latest = { ...c };
      },
      stop: () => clearInterval(timer),
    };
  }

  const byBytes = options.totalBytes !== undefined && options.bytesRead !== undefined && options.totalBytes > 0;
  const bar = new SingleBar(
    {
      stream,
      format: byBytes
        ? '{bar} {percentage}% | {counters} | {rate}/s | {duration_formatted}'
        : '{counters} | {rate}/s | {duration_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 5,
    },
    Presets.shades_classic,
  );
  let shown = false;
  const payload = () => ({ counters: counterText(latest), rate: count(rate()) });
  const value = () => (byBytes ? (options.bytesRead?.() ?? 0) : latest.read);
  const timer = setTimeout(() => {
    shown = true;
    bar.start(byBytes ? (options.totalBytes as number) : 0, value(), payload());
  }, delayMs);
  timer.unref();
  return {
    update: (c) => {
      latest = { ...c };
      if (shown) bar.update(value(), payload());
    },
    stop: () => {
      clearTimeout(timer);
      if (shown) {
        bar.update(byBytes ? (options.totalBytes as number) : value(), payload());
        bar.stop();
      }
    },
  };
}

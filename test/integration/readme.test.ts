import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '@real-time-platform/test-support';
import WebSocket from 'ws';

// The README's shell examples, read from README.md itself and run as written — through bash, in the repository, with
// the real `npm start`, `npm run …`, aws, curl, wscat, mqtt and mosquitto_pub — against the runtime each block says
// it needs. Only the ports change (free ones, so that a developer's own `npm start` is left alone): the commands'
// `localhost:3000` / `3001` / `8000` / `4569` / `9324` / `-p 1883` are rewritten, and `npm start` / `npm run invoke` get the
// RTP_*_PORT variables. The conventions the README marks its blocks with are listed in its Tests section.

jest.setTimeout(300_000);

const ROOT = join(__dirname, '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

// ------------------------------------------------------------------------------------------------------ reading

interface Command {
  /** The command as written (continuation lines joined), without its trailing comment. */
  text: string;
  comment: string;
  line: number;
}

interface Block {
  section: string;
  line: number;
  /** `<!-- readme-test: npm start … -->`: the runtime; undefined: the previous block's. */
  runtime?: string;
  skip?: string;
  commands: Command[];
  /** The `text` block after it: frames a wscat session sends (`> `) and must receive (`< `). */
  conversation: { send: string; expect: string[] }[];
  /** A `json` block after it: frames an open wscat session must receive. */
  pushed: Record<string, unknown>[];
}

/** Splits a shell line into the command and its trailing comment (a `#` after a space, outside quotes). */
function splitComment(line: string): { text: string; comment: string } {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) {
      return { text: line.slice(0, i).trimEnd(), comment: line.slice(i + 1).trim() };
    }
  }
  return { text: line.trimEnd(), comment: '' };
}

function readBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let section = '';
  let directive: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^#{2,3} /.test(line)) section = line.replace(/^#+ /, '');
    const marker = /^<!-- readme-test: (.*) -->$/.exec(line);
    if (marker) directive = marker[1];
    const fence = /^```(\w+)/.exec(line);
    if (!fence) continue;
    const body: string[] = [];
    const start = i + 1;
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] as string);
    const last = blocks.at(-1);
    if (fence[1] === 'text' && last !== undefined) {
      for (const entry of body) {
        if (entry.startsWith('> ')) last.conversation.push({ send: entry.slice(2), expect: [] });
        else if (entry.startsWith('< ')) last.conversation.at(-1)?.expect.push(entry.slice(2));
      }
    }
    if (fence[1] === 'json' && last !== undefined && last.section === section) {
      for (const entry of body) {
        try {
          const frame = JSON.parse(entry) as Record<string, unknown>;
          if (frame.type === 'item') last.pushed.push(frame);
        } catch {
          // Prose-like JSON (several lines, ellipses): not a frame to wait for.
        }
      }
    }
    if (fence[1] !== 'bash') continue;
    const commands: Command[] = [];
    for (let j = 0; j < body.length; j++) {
      let joined = body[j] as string;
      const first = start + j;
      while (joined.endsWith('\\') && j + 1 < body.length) joined = `${joined.slice(0, -1)}${body[++j]}`;
      const { text, comment } = splitComment(joined);
      if (text.trim() !== '') commands.push({ text: text.trim(), comment, line: first + 1 });
    }
    const skip = directive?.startsWith('skip') ? directive : undefined;
    blocks.push({
      section,
      line: start,
      ...(skip === undefined && directive !== undefined ? { runtime: directive } : {}),
      ...(skip === undefined ? {} : { skip }),
      commands,
      conversation: [],
      pushed: [],
    });
    directive = undefined;
  }
  return blocks;
}

// ------------------------------------------------------------------------------------------------------ running

let ports: { http: number; ws: number; dynamodb: number; s3: number; mqtt: number; sqs: number };
/** Variables the README's `export` and assignment lines set, for every later command. */
const variables: Record<string, string> = {};
/** Everything commands and sessions printed, newest last (where `# the <field> … printed` looks). */
const printed: string[] = [];

function environment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...variables };
  // The README's own export line sets credentials; nothing of the caller's may stand in for it.
  for (const name of [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
  ]) {
    if (!(name in variables)) delete env[name];
  }
  return {
    ...env,
    // The producer CLI's own defaults (http://localhost:3000, DynamoDB at localhost:8000), moved to our ports.
    RTP_URL: `http://localhost:${ports.http}`,
    AWS_ENDPOINT_URL_DYNAMODB: `http://localhost:${ports.dynamodb}`,
    RTP_HTTP_PORT: String(ports.http),
    RTP_WS_PORT: String(ports.ws),
    RTP_DYNAMODB_PORT: String(ports.dynamodb),
    RTP_S3_PORT: String(ports.s3),
    RTP_MQTT_PORT: String(ports.mqtt),
    RTP_SQS_PORT: String(ports.sqs),
    RTP_CONSOLE_PORT: '0',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  };
}

/** The command with the README's default ports replaced by this run's. */
function onOurPorts(command: string): string {
  return command
    .replaceAll('localhost:3000', `localhost:${ports.http}`)
    .replaceAll('localhost:3001', `localhost:${ports.ws}`)
    .replaceAll('localhost:8000', `localhost:${ports.dynamodb}`)
    .replaceAll('localhost:4569', `localhost:${ports.s3}`)
    .replaceAll('localhost:9324', `localhost:${ports.sqs}`)
    .replaceAll('-p 1883', `-p ${ports.mqtt}`);
}

function bash(command: string, stdin: 'ignore' | 'pipe' = 'ignore', extra: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn('bash', ['-c', command], {
    cwd: ROOT,
    env: { ...environment(), ...extra },
    stdio: [stdin, 'pipe', 'pipe'],
    // Its own process group, as in a terminal: Ctrl-C reaches npm and node, and node stops DynamoDB Local's JVM.
    detached: true,
  });
}

function run(command: string, timeoutMs = 180_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = bash(command);
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    const timer = setTimeout(() => {
      stop(child);
      reject(new Error(`timed out after ${timeoutMs} ms: ${command}\n${out}\n${err}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** Stops a process group: SIGINT (the runtime stops DynamoDB Local and its functions), SIGKILL if it lingers. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-child.pid, 'SIGINT');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }, 20_000);
  await exited;
  clearTimeout(timer);
}

/** Resolves once `pattern` appears in the child's output; rejects when it exits first or time runs out. */
function waitFor(child: ChildProcess, output: () => string, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pattern.test(output())) {
        cleanup();
        resolve();
      }
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`exited before printing ${pattern}:\n${output().slice(-3000)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output().slice(-3000)}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

interface Started {
  command: string;
  child: ChildProcess;
  output: () => string;
}

/**
 * Starts `npm start …` (as written, on our ports) and waits for its banner's "Ready". Again (three tries in all) when
 * DynamoDB Local was too slow to answer: a JVM starting on a loaded 2-core machine can miss the runtime's 30 s, which
 * says nothing about the README.
 */
async function startRuntime(command: string): Promise<Started> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(command);
    } catch (error) {
      if (attempt >= 3 || !/DynamoDB Local did not answer/.test(String(error))) throw error;
    }
  }
}

async function startOnce(command: string): Promise<Started> {
  const child = bash(onOurPorts(command));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await waitFor(child, () => output, /Ready in [\d.]+ s/, 150_000);
  return { command, child, output: () => output };
}

let runtime: Started | undefined;
const sessions: Started[] = [];

async function useRuntime(command: string): Promise<Started> {
  usedRuntimes.add(command);
  if (runtime?.command === command) return runtime;
  await closeSessions();
  if (runtime !== undefined) await stop(runtime.child);
  runtime = await startRuntime(command);
  return runtime;
}

async function closeSessions(): Promise<void> {
  for (const session of sessions.splice(0)) {
    printed.push(session.output());
    await stop(session.child);
  }
}

/**
 * The frames a wscat session printed (one JSON object per line), a `batch` frame as the frames it carries: whether
 * two frames share a post depends on how the stream's records fell into fan-out runs, which the README cannot fix.
 */
function framesOf(session: Started): Record<string, unknown>[] {
  return session
    .output()
    .split('\n')
    .flatMap((line) => {
      const json = /\{.*\}/.exec(line)?.[0];
      if (json === undefined) return [];
      try {
        const frame = JSON.parse(json) as Record<string, unknown>;
        return frame.type === 'batch' && Array.isArray(frame.messages)
          ? (frame.messages as Record<string, unknown>[])
          : [frame];
      } catch {
        return [];
      }
    });
}

/**
 * `npx wscat -c …`: stays open (until the runtime changes) and prints what it receives. In a terminal, as a reader
 * runs it (`script` gives it one): without a TTY wscat prints no "Connected" and drops what is typed before it is.
 */
async function openSession(command: Command): Promise<void> {
  const child = bash('script -qfc "$README_COMMAND" /dev/null', 'pipe', { README_COMMAND: onOurPorts(command.text) });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const session: Started = { command: command.text, child, output: () => output };
  sessions.push(session);
  await waitFor(child, () => output, /Connected/, 60_000);
}

/** Types the `> ` frames of a README text block into the newest wscat and waits for the `< ` answers' types. */
async function converse(conversation: Block['conversation']): Promise<void> {
  const session = sessions.at(-1);
  if (session === undefined) throw new Error('a text block of frames, but no wscat is open');
  for (const { send, expect: answers } of conversation) {
    const before = framesOf(session).length;
    session.child.stdin?.write(`${send}\r`);
    const types = answers.map((answer) => (JSON.parse(answer) as { type: string }).type);
    const received = () =>
      framesOf(session)
        .slice(before)
        .map((frame) => frame.type);
    await until(
      () =>
        types.every((type) => received().filter((t) => t === type).length >= types.filter((t) => t === type).length),
      () =>
        `wscat to answer ${send} with ${types.join(', ')}; got ${received().join(', ')}; it printed:\n${session
          .output()
          .slice(-1500)}`,
    );
  }
}

/** Waits for `condition`; `what` describes it when time runs out (a function: what it says is read then). */
async function until(condition: () => boolean, what: string | (() => string), timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`waited ${timeoutMs} ms for ${typeof what === 'function' ? what() : what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The newest value of `"field":"…"` anything printed so far. */
function lastPrinted(field: string): string | undefined {
  const texts = [...printed, ...sessions.map((s) => s.output())].reverse();
  for (const text of texts) {
    const matches = [...text.matchAll(new RegExp(`"${field}"\\s*:\\s*"([^"]+)"`, 'g'))];
    const value = matches.at(-1)?.[1];
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * An `export` or assignment line: run in bash, keeping the (upper-case) variables it names for every later command;
 * `NAME=value  # the field … printed` takes the value from what was printed instead, as a reader copies it.
 */
async function assign(command: Command): Promise<void> {
  const names = [...command.text.matchAll(/\b([A-Z_][A-Z0-9_]*)=/g)].map((match) => match[1] as string);
  const copied = /^the (\w+)\b.*printed/.exec(command.comment);
  if (copied) {
    const value = lastPrinted(copied[1] as string);
    if (value === undefined) throw new Error(`README.md:${command.line}: nothing printed a ${copied[1]} to copy`);
    variables[names[0] as string] = value;
    return;
  }
  const result = await run(`set -a; ${onOurPorts(command.text)}; env -0`);
  expect([command.line, result.code, result.err.slice(-2000)]).toEqual([command.line, 0, expect.anything()]);
  for (const entry of result.out.split('\0')) {
    const at = entry.indexOf('=');
    if (at > 0 && names.includes(entry.slice(0, at))) variables[entry.slice(0, at)] = entry.slice(at + 1);
  }
  for (const name of names)
    expect([command.line, name, variables[name]]).toEqual([command.line, name, expect.any(String)]);
}

/** Runtimes some block ran against: their `npm start` lines need no separate start check. */
const usedRuntimes = new Set<string>();

const blocks = readBlocks(README);
/** `npm start` lines that are not a block's runtime: started and stopped once, after the blocks. */
const startChecks: Command[] = [];

/**
 * What the README's runtimes leave in `.local` as they would for a reader (bundles, `--persist .local/data`, the dev
 * secret, local S3 objects, dead letters). Removed after the run when the run created them, so that `npm test` leaves
 * the folder as it found it (but for the test platforms' bundle cache, .local/test-build-cache, kept for the next
 * run); a developer's own are never touched.
 */
const RUNTIME_LEFTOVERS = ['build', 'build-cache', 'data', 'jwt-secret', 's3', 'dead-letters'];
let leftoversBefore: Set<string>;

beforeAll(async () => {
  leftoversBefore = new Set(RUNTIME_LEFTOVERS.filter((name) => existsSync(join(ROOT, '.local', name))));
  ports = {
    http: await freePort(),
    ws: await freePort(),
    dynamodb: await freePort(),
    s3: await freePort(),
    mqtt: await freePort(),
    sqs: await freePort(),
  };
});

afterAll(async () => {
  await closeSessions();
  if (runtime !== undefined) await stop(runtime.child);
  for (const name of RUNTIME_LEFTOVERS) {
    if (!leftoversBefore.has(name)) await rm(join(ROOT, '.local', name), { recursive: true, force: true });
  }
});

test('the README has runnable shell examples in every section that shows commands', () => {
  expect(blocks.length).toBeGreaterThan(10);
  const sections = new Set(blocks.filter((b) => b.skip === undefined).map((b) => b.section));
  for (const section of [
    'Walkthrough: one write, one push',
    'Local runtime',
    'Producing data',
    'Authentication',
    'Calendar',
  ]) {
    expect(sections).toContain(section);
  }
});

test('only the install, SAM CLI, second-runtime, deploy and test-suite blocks are left out, each saying why', () => {
  const skipped = blocks.filter((b) => b.skip !== undefined);
  expect(skipped.map((b) => b.section)).toEqual(['Quick start', 'Local runtime', 'Authentication', 'Deploy', 'Tests']);
  for (const block of skipped) expect(block.skip).toMatch(/^skip \(.+\)$/);
});

let current: string | undefined;
for (const block of blocks) {
  const name = `${block.section} (README.md:${block.line})`;
  if (block.skip !== undefined) continue;
  current = block.runtime ?? current;
  const needed = current ?? 'npm start';
  test(`${name} with \`${needed}\``, async () => {
    for (const command of block.commands) {
      if (/^on AWS\b/.test(command.comment)) continue;
      if (/^npm start\b/.test(command.text)) {
        if (/--help\b/.test(command.text)) {
          const help = await run(command.text);
          expect([command.line, help.code, help.out]).toEqual([command.line, 0, expect.stringContaining('Usage')]);
        } else if (command.text !== needed) startChecks.push(command);
        else await useRuntime(needed);
        continue;
      }
      await useRuntime(needed);
      if (/^(export\s+)?[A-Za-z_]\w*=/.test(command.text)) {
        await assign(command);
      } else if (/^npx wscat\b/.test(command.text)) {
        await openSession(command);
      } else {
        const result = await run(onOurPorts(command.text));
        printed.push(result.out);
        const where = `README.md:${command.line} ${command.text}`;
        expect([where, result.code, `${result.out}\n${result.err}`.slice(-3000)]).toEqual([
          where,
          0,
          expect.anything(),
        ]);
        // The README shows successes: a curl example answered with an error envelope is a broken example.
        if (/^curl\b/.test(command.text))
          expect([where, result.out]).toEqual([where, expect.not.stringContaining('"error"')]);
      }
    }
    if (block.conversation.length > 0) await converse(block.conversation);
    for (const frame of block.pushed) {
      await until(
        () =>
          sessions.some((session) =>
            framesOf(session).some((f) => f.type === frame.type && f.key === frame.key && f.itemId === frame.itemId),
          ),
        `an open wscat to print the ${String(frame.type)} frame of ${String(frame.key)}/${String(frame.itemId)}`,
      );
    }
  });
}

test('the other `npm start` examples start and stop cleanly', async () => {
  await closeSessions();
  if (runtime !== undefined) await stop(runtime.child);
  runtime = undefined;
  const remaining = startChecks.filter((command) => !usedRuntimes.has(command.text));
  expect(remaining.map((c) => c.text)).toEqual(expect.arrayContaining(['npm start -- --persist .local/data']));
  for (const command of remaining) {
    const started = await startRuntime(command.text);
    // The banner's token hint is a command that prints a token this runtime accepts (issuer and audience included).
    const hint = /Token\s+(npm run -s token -- .*?)\s{2,}\(/.exec(started.output())?.[1];
    if (/--auth jwt/.test(command.text)) {
      expect(hint).toBeDefined();
      const printedToken = await run(hint as string);
      expect(printedToken.code).toBe(0);
      const url = `ws://localhost:${ports.ws}/develop?token=${printedToken.out.trim()}`;
      const status = await new Promise<number>((resolve) => {
        const socket = new WebSocket(url);
        socket.once('open', () => {
          socket.close();
          resolve(101);
        });
        socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        socket.once('error', () => resolve(0));
      });
      expect([hint, status]).toEqual([hint, 101]);
    }
    // The banner's producer hint writes to this runtime as printed: its key attribute, its HTTP API.
    const produce = /^\s+(npm run produce -- .*?)\s{2,}#/m.exec(started.output())?.[1];
    expect([command.line, produce]).toEqual([
      command.line,
      expect.stringContaining(`--url http://localhost:${ports.http}`),
    ]);
    const produced = await run(produce as string);
    expect([produce, produced.code, produced.out]).toEqual([produce, 0, expect.stringContaining('written 1')]);
    await stop(started.child);
    // Stopped by our Ctrl-C: a clean exit, or npm ended by the signal it passes on — never an error exit, and never
    // the SIGKILL that stop() sends when the runtime lingers. On failure, how it ended and what it printed last.
    const { exitCode, signalCode } = started.child;
    const clean = exitCode === 0 || signalCode === 'SIGINT';
    expect({
      line: command.line,
      clean,
      ...(clean ? {} : { exitCode, signalCode, tail: started.output().slice(-3000) }),
    }).toEqual({
      line: command.line,
      clean: true,
    });
  }
});

test('npm run invoke without `npm start` exits 1 and says why', async () => {
  const invoke = blocks
    .flatMap((b) => b.commands)
    .find((c) => /^npm run invoke -- SqsIngestFunction/.test(c.text)) as Command;
  expect(invoke).toBeDefined();
  // Nothing listens on these ports now: every runtime above has stopped.
  const result = await run(invoke.text);
  expect(result.code).toBe(1);
  expect(result.err).toMatch(/could not reach DynamoDB at http:\/\/localhost:\d+ \(connection refused\)/);
  expect(result.err).toMatch(/running `npm start`/);
});

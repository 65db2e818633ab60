import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type ConsoleServer, FanoutTail, silentLogger, startConsoleServer } from '@real-time-platform/local-runtime';
import { launchChromium, startTestPlatform, type TestPlatform } from '@real-time-platform/test-support';
import type { Browser, Page } from 'playwright-core';
import { buildConsoleAssets, type ConsoleAsset } from '../../src';

// The console in Debian's Chromium (playwright-core) against the real local runtime: one platform (AuthMode=jwt, so
// presence and chat have users), one console server, one browser, a page per view.

/** Short, so that a tab that stops heartbeating can be swept within the test; the page's clients heartbeat faster. */
const PRESENCE_TIMEOUT_SECONDS = 5;

jest.setTimeout(300_000);

const SCREENSHOTS = join(__dirname, '..', '..', '..', '..', '.local', 'console-screenshots');

let platform: TestPlatform;
let tail: FanoutTail;
let assets: Map<string, ConsoleAsset>;
let server: ConsoleServer;
let browser: Browser;
let documents: DynamoDBDocumentClient;
let dataTable: string;
let connectionTable: string;
const pages: Page[] = [];
const pageProblems: string[] = [];

beforeAll(async () => {
  tail = new FanoutTail();
  [platform, assets, browser] = await Promise.all([
    startTestPlatform({
      auth: 'jwt',
      onInvocation: tail.observe,
      onFunctionLog: tail.observeLog,
      parameterOverrides: {
        PresenceTimeoutSeconds: String(PRESENCE_TIMEOUT_SECONDS),
        // The sweep runs when the Presence test asks (the admin API), not in the middle of the other tests.
        PresenceSweepSchedule: 'rate(1 day)',
      },
    }),
    buildConsoleAssets(),
    launchChromium(),
  ]);
  server = await startConsoleServer({ platform, tail, port: 0, assets, logger: silentLogger });
  documents = platform.aws.documents;
  dataTable = platform.model.tables.find((t) => t.logicalId === 'RealTimeDataTable')?.tableName ?? '';
  connectionTable =
    platform.model.tables.find((t) => t.logicalId === 'WebSocketConnectionManagerTable')?.tableName ?? '';
  await mkdir(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await platform?.stop();
});

afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
  // A page error or a refused script (CSP) anywhere is a failure of the test that caused it.
  expect(pageProblems.splice(0)).toEqual([]);
});

async function openView(view: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => pageProblems.push(`${view}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') pageProblems.push(`${view}: ${message.text()}`);
  });
  pages.push(page);
  await page.goto(`${server.url}#${view}`);
  await page.waitForSelector('#runtime-status[data-status="connected"]');
  return page;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

function put(item: Record<string, unknown>, table = dataTable): Promise<unknown> {
  return documents.send(new PutCommand({ TableName: table, Item: item }));
}

/** Subscribes the Inspector's own client to `key`, as a user would. */
async function subscribeOnPage(page: Page, key: string): Promise<void> {
  await page.fill('#subscribe-key', key);
  await page.click('button:text-is("Subscribe")');
}

/** The Inspector, subscribed to a key no other test writes to. */
async function inspectNewKey(prefix: string): Promise<{ key: string; page: Page }> {
  const key = `${prefix}-${randomUUID().slice(0, 8)}`;
  const page = await openView('inspector');
  await subscribeOnPage(page, key);
  return { key, page };
}

describe('Inspector', () => {
  test('a write appears on the Inspector within 1 s, with its fan-out batch', async () => {
    const key = `inspect-${randomUUID().slice(0, 8)}`;
    await put({ realTimeItemKey: key, itemId: 'before', speed: 1 });
    const page = await openView('inspector');
    await subscribeOnPage(page, key);
    await page.waitForSelector('#items tr[data-item-id="before"]', { timeout: 30_000 });

    // The median of three writes is what a user sees. Each may take long on a CI machine busy with other suites (one
    // took over 10 s there once, with JVMs starting beside it): only the median is held to the second.
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const written = Date.now();
      await put({ realTimeItemKey: key, itemId: `w${i}`, speed: i });
      try {
        await page.waitForSelector(`#items tr[data-item-id="w${i}"]`, { timeout: 30_000 });
      } catch (error) {
        const state = await page.locator('#client-state').textContent();
        const tail = await page.locator('#fanout tbody').innerText();
        throw new Error(`w${i} not shown 30 s after its write (client ${state}); fan-out tail:\n${tail}`, {
          cause: error,
        });
      }
      delays.push(Date.now() - written);
    }
    console.log(`write → Inspector: ${delays.join(', ')} ms`);
    expect([...delays].sort((a, b) => a - b)[1]).toBeLessThan(1000);
    await page.waitForSelector('#fanout td:text-is("OnReceiveRealTimeItem")');

    await screenshot(page, 'inspector');
  });

  test("the fan-out tail shows a batch's posts and its 410s", async () => {
    const { key, page } = await inspectNewKey('tail');
    await put({ realTimeItemKey: key, itemId: 'live', speed: 1 });
    await page.waitForSelector('#items tr[data-item-id="live"]', { timeout: 30_000 });

    // A subscriber that vanished without a $disconnect: its subscription row stays, the gateway answers 410.
    const ghost = `ghost-${randomUUID().slice(0, 8)}`;
    const now = Date.now();
    await put(
      { connectionId: ghost, realTimeItemKey: key, subscribedAt: now, expiresAt: Math.floor(now / 1000) + 3600 },
      connectionTable,
    );
    await put({ realTimeItemKey: key, itemId: 'after-ghost', speed: 2 });
    const row = page.locator('#fanout tbody tr', { has: page.locator('.batch-gone:text-is("1")') });
    await row.waitFor({ timeout: 30_000 });
    expect(await row.locator('.batch-function').textContent()).toBe('OnReceiveRealTimeItem');
    // The page's own client and the ghost: one post each.
    expect(Number(await row.locator('.batch-posts').textContent())).toBeGreaterThanOrEqual(2);
    await screenshot(page, 'inspector-fanout');
  });

  test('an item holding <script> and <img onerror> shows as text, and nothing runs', async () => {
    const { key, page } = await inspectNewKey('markup');
    await page.waitForSelector('#client-state:text-is("connected")');
    const markup = { script: '<script>window.__xss = 1</script>', img: '<img src=x onerror="window.__xss = 2">' };
    await put({ realTimeItemKey: key, itemId: 'markup', ...markup });
    const cell = await page.waitForSelector('#items tr[data-item-id="markup"] .item-json');
    expect(JSON.parse((await cell.textContent()) ?? '')).toMatchObject(markup);
    expect(await page.$$('#items img, #items script')).toHaveLength(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
  });

  test('the Inspector writes and deletes an item through the admin API', async () => {
    const { key, page } = await inspectNewKey('write');
    await page.waitForSelector('#client-state:text-is("connected")');
    await page.fill('#write-key', key);
    await page.fill('#write-item-id', 'typed');
    await page.fill('#write-attributes', '{"speed": 7}');
    await page.click('button:text-is("Write")');
    const cell = await page.waitForSelector('#items tr[data-item-id="typed"] .item-json');
    expect(JSON.parse((await cell.textContent()) ?? '')).toMatchObject({ itemId: 'typed', speed: 7 });

    await page.click('button:text-is("Delete")');
    await page.waitForSelector('#items tr[data-item-id="typed"]', { state: 'detached' });

    await page.fill('#write-attributes', '[1, 2]');
    await page.click('button:text-is("Write")');
    await page.waitForSelector('#write-result:text-is("attributes must be a JSON object")');
  });
});

describe('Admin API', () => {
  test('running a schedule now refuses a bad body and a function without a schedule', async () => {
    const run = (body: string, contentType = 'application/json') =>
      fetch(`${server.url}admin/schedules/run`, { method: 'POST', headers: { 'content-type': contentType }, body });
    const missing = await run('{}');
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^functionId/) },
    });
    const unknown = await run('{"functionId":"OnConnectLambdaFunction"}');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain('PresenceSweepFunction');
    expect((await run('functionId=PresenceSweepFunction', 'application/x-www-form-urlencoded')).status).toBe(415);
  });
});

describe('Overview', () => {
  test('lists a connection with its keys and user; Disconnect closes it, and its client sees the close', async () => {
    const key = `overview-${randomUUID().slice(0, 8)}`;
    const user = await platform.signIn(`ann-${randomUUID().slice(0, 6)}`);
    const socket = await user.connect([key]);
    const page = await openView('overview');
    const row = page.locator('#connections tr', { hasText: key });
    await row.waitFor();
    expect(await row.textContent()).toContain(user.userId);
    await page.waitForSelector(`#keys tr[data-key="${key}"]`);
    await page.waitForSelector('#services tr[data-service="DynamoDB Local"] td.up');
    await screenshot(page, 'overview');

    await row.locator('button:text-is("Disconnect")').click();
    const closed = await socket.closed;
    expect(closed.code).toBe(1000);
    await row.waitFor({ state: 'detached' });
  });

  test('a runtime that goes away shows "disconnected, retrying", and the page recovers when it is back', async () => {
    const page = await openView('overview');
    const { port } = server;
    await server.close();
    await page.waitForSelector('#runtime-status[data-status="disconnected"]');
    expect(await page.textContent('#runtime-status')).toBe('disconnected, retrying…');
    await screenshot(page, 'disconnected');
    server = await startConsoleServer({ platform, tail, port, assets, logger: silentLogger });
    await page.waitForSelector('#runtime-status[data-status="connected"]', { timeout: 10_000 });
    await page.waitForSelector('#services tr[data-service="WebSocket API"]');
    // The polls refused while the server was down are the point of this test, not a problem.
    const refused = pageProblems.filter((problem) => problem.endsWith('net::ERR_CONNECTION_REFUSED'));
    expect(refused.length).toBeGreaterThan(0);
    pageProblems.splice(0, pageProblems.length, ...pageProblems.filter((problem) => !refused.includes(problem)));
  });
});

describe('Presence', () => {
  test('a watched user goes online, then offline when their tab closes', async () => {
    const alice = `alice-${randomUUID().slice(0, 6)}`;
    const watcher = await openView('presence');
    await watcher.fill('#presence-user', `bob-${randomUUID().slice(0, 6)}`);
    await watcher.click('button:text-is("Sign in")');
    await watcher.fill('#presence-watch', alice);
    await watcher.click('button:text-is("Watch")');
    await watcher.waitForSelector(`#presence-users tr[data-user-id="${alice}"] .status:text-is("offline")`);

    const tab = await openView('presence');
    await tab.fill('#presence-user', alice);
    await tab.click('button:text-is("Sign in")');
    await tab.waitForSelector('.session-state:text-is("connected")');
    await tab.fill('#presence-page', 'Pricing');
    await tab.click('button:text-is("Share this page")');
    const row = `#presence-users tr[data-user-id="${alice}"]`;
    await watcher.waitForSelector(`${row} .status:text-is("online")`);
    await watcher.waitForSelector(`${row} td:has-text("on Pricing")`);
    await screenshot(watcher, 'presence');

    await tab.close();
    await watcher.waitForSelector(`${row} .status:text-is("offline")`, { timeout: 30_000 });
  });

  test('a tab that stops heartbeating is taken offline by the presence sweep; one that heartbeats stays', async () => {
    const silent = `carol-${randomUUID().slice(0, 6)}`;
    const alive = `dave-${randomUUID().slice(0, 6)}`;
    const page = await openView('presence');
    await page.fill('#presence-user', `bob-${randomUUID().slice(0, 6)}`);
    await page.click('button:text-is("Sign in")');
    await page.fill('#presence-watch', `${silent}, ${alive}`);
    await page.click('button:text-is("Watch")');
    for (const user of [silent, alive]) {
      await page.fill('#tab-user', user);
      await page.click('button:text-is("Open a tab")');
      await page.waitForSelector(`#presence-users tr[data-user-id="${user}"] .status:text-is("online")`);
    }
    const silentTab = page.locator(`#tabs tr[data-tab-user="${silent}"]`);
    await silentTab.locator('button:text-is("Stop heartbeats")').click();
    await silentTab.locator('.tab-status:has-text("silent")').waitFor();

    // Each sweep ends only what has been silent for longer than the timeout: sweep until it has.
    const offline = page.locator(`#presence-users tr[data-user-id="${silent}"] .status:text-is("offline")`);
    const deadline = Date.now() + 60_000;
    while (!(await offline.isVisible())) {
      if (Date.now() > deadline) throw new Error(`${silent} still online a minute after the heartbeats stopped`);
      await page.click('button:text-is("Run the presence sweep now")');
      await page.waitForSelector('#sweep-result:has-text("swept in")');
      await offline.waitFor({ timeout: 1000 }).catch(() => undefined);
    }
    await silentTab.locator('.tab-status:has-text("closed by the server (1000")').waitFor();
    // The same sweep left the tab that kept heartbeating: its user is online, its socket open.
    const aliveTab = page.locator(`#tabs tr[data-tab-user="${alive}"]`);
    expect(await aliveTab.locator('.tab-status').textContent()).toContain('open, a heartbeat every');
    await page.waitForSelector(`#presence-users tr[data-user-id="${alive}"] .status:text-is("online")`);
    await screenshot(page, 'presence-sweep');
  });
});

describe('Chat', () => {
  test('two users side by side exchange a message and a read receipt', async () => {
    const ann = `ann-${randomUUID().slice(0, 6)}`;
    const ben = `ben-${randomUUID().slice(0, 6)}`;
    const page = await openView('chat');
    const left = page.locator('#chat-left');
    const right = page.locator('#chat-right');
    await left.locator('input').fill(ann);
    await left.locator('button:text-is("Sign in")').click();
    await right.locator('input').fill(ben);
    await right.locator('button:text-is("Sign in")').click();
    await left.locator('.session-state:text-is("connected")').waitFor();
    await right.locator('.session-state:text-is("connected")').waitFor();

    await left.locator('.chat-with').fill(ben);
    await left.locator('button:text-is("Start")').click();
    await left.locator('.chat-message').fill('hello <b>ben</b>');
    await left.locator('button:text-is("Send")').click();
    await left.locator('.messages .content:text-is("hello <b>ben</b>")').waitFor();

    // Ben sees the conversation with one unread message, opens it, and Ann sees the receipt.
    const conversation = right.locator('.conversations li', { hasText: ann });
    await conversation.locator('.unread:text-is("1")').waitFor({ timeout: 30_000 });
    await conversation.locator('button').click();
    await right.locator('.messages .content:text-is("hello <b>ben</b>")').waitFor();
    await left.locator(`.messages .receipt:has-text("read by ${ben}")`).waitFor({ timeout: 30_000 });
    await screenshot(page, 'chat');
  });
});

describe('Calendar', () => {
  test('an event created and moved in one page shows in the other', async () => {
    const owner = `cal-${randomUUID().slice(0, 6)}`;
    const [editor, viewer] = [await openView('calendar'), await openView('calendar')];
    for (const page of [editor, viewer]) {
      await page.fill('#calendar-user', owner);
      await page.click('button:text-is("Sign in")');
      await page.waitForSelector('.session-state:text-is("connected")');
    }
    const title = `Review ${randomUUID().slice(0, 4)}`;
    await editor.fill('#calendar-title', title);
    await editor.fill('#calendar-hour', '10:00');
    await editor.click('button:text-is("Create")');
    const event = viewer.locator('.event', { hasText: title });
    await event.locator('.event-time:text-is("10:00")').waitFor({ timeout: 30_000 });

    await editor.locator('.event', { hasText: title }).locator('button:text-is("+1 h")').click();
    await event.locator('.event-time:text-is("11:00")').waitFor({ timeout: 30_000 });
    await screenshot(viewer, 'calendar');

    // Both tabs start editing the same version; the first save wins, the second is refused with 409 on the page.
    const eventId = await event.getAttribute('data-event-id');
    const inEditor = editor.locator(`[data-event-id="${eventId}"]`);
    const inViewer = viewer.locator(`[data-event-id="${eventId}"]`);
    await inEditor.locator('button:text-is("Edit")').click();
    await inViewer.locator('button:text-is("Edit")').click();
    await inEditor.locator('.edit-title').fill(`${title} (editor)`);
    await inEditor.locator('button:text-is("Save")').click();
    await editor.locator('.event .event-title', { hasText: `${title} (editor)` }).waitFor();
    await inViewer.locator('.edit-title').fill(`${title} (viewer)`);
    await inViewer.locator('button:text-is("Save")').click();
    const conflict = viewer.locator('.problem', { hasText: '409 CONFLICT' });
    await conflict.waitFor();
    expect(await conflict.textContent()).toContain('the event was changed since you read it');
    await screenshot(viewer, 'calendar-409');
    // The browser logs the refused request itself; here it is the point of the test, not a problem.
    const refused = pageProblems.filter((problem) => problem.endsWith('status of 409 (Conflict)'));
    expect(refused).toHaveLength(1);
    pageProblems.splice(0, pageProblems.length, ...pageProblems.filter((problem) => !refused.includes(problem)));
    await inViewer.locator('button:text-is("Cancel")').click();
    await inViewer.locator(`.event-title:text-is("${title} (editor)")`).waitFor({ timeout: 30_000 });
  });

  test("the week shows a chosen country's public holidays", async () => {
    const page = await openView('calendar');
    await page.fill('#calendar-week', '2026-12-21');
    await page.selectOption('#holiday-country', 'NZ');
    await page.waitForSelector('.day[data-day="2026-12-25"] .holiday:text-is("Christmas Day")');
    await page.waitForSelector('.day[data-day="2026-12-26"] .holiday:text-is("Boxing Day")');
    expect(await page.$$('.day[data-day="2026-12-23"] .holiday')).toHaveLength(0);
    await screenshot(page, 'calendar-holidays');
  });
});

describe('Vehicles', () => {
  test('Start runs the simulator and its vehicles reach the canvas; Stop stops it', async () => {
    const page = await openView('vehicles');
    await page.click('button:text-is("Start the simulator")');
    await page.waitForSelector('#simulator-status:has-text("running: 12 vehicles")');
    await page.waitForSelector('#vehicle-count:text-is("12 vehicles seen")', { timeout: 30_000 });
    await screenshot(page, 'vehicles');
    await page.click('button:text-is("Stop the simulator")');
    await page.waitForSelector('#simulator-status:has-text("stopped")');
  });
});

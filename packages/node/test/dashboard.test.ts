import { request } from 'node:http';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_KEY,
  api,
  heldCommand,
  startDaemonProcess,
  tempDir,
  waitFor,
  type DaemonProcess,
} from './support/processes.ts';

/** Debian's Chromium; CI installs it (.ci/run). */
const CHROMIUM = '/usr/bin/chromium';
/** Screenshots of each view, for a person to look at (gitignored). */
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/dashboard/', import.meta.url));

const fanOut = {
  name: 'fan-out',
  params: ['items'],
  steps: [
    {
      id: 'greet',
      type: 'executor:shell',
      forEach: 'params.items',
      after: [],
      input: { executor: '"shell"', argv: '("echo", item)' },
    },
    {
      id: 'done',
      type: 'executor:shell',
      after: ['greet'],
      input: { executor: '"shell"', argv: '("echo", "all greeted")' },
    },
  ],
};

interface Task {
  id: string;
  status: string;
}

interface MeshAnswer {
  self: string;
  nodes: { id: string; name: string | null; status: string; self: boolean; agents: number }[];
  links: { a: string; b: string; confirmed: boolean; latencyMs: number | null }[];
}

interface AgentAnswer {
  id: string;
  node: string;
  local: boolean;
  live: boolean;
  load: number;
  capacity: number;
  metadata: Record<string, unknown>;
  health: { degraded: boolean; reason: string | null };
}

/** Nodes of the large mesh that are not alive, by index: three unreachable, one gone. */
const DOWN: ReadonlyMap<number, string> = new Map([
  [10, 'unreachable'],
  [20, 'unreachable'],
  [30, 'unreachable'],
  [40, 'left'],
]);

/**
 * A sparse mesh of `size` nodes in the shape of a real `/v1/mesh` answer (every field from
 * `real`'s): each node linked to its three neighbours either side on a ring plus a chord or two
 * (7–9 links), four nodes not alive, links announced by one end only where an end is down and
 * on every ninth; round trips on the serving node's links only, as the daemon knows them. Two
 * agents per node, from a real `/v1/agents` entry.
 */
function largeMesh(
  real: MeshAnswer,
  agent: AgentAnswer,
  size: number,
): { mesh: MeshAnswer; agents: AgentAnswer[] } {
  // Real peer ids with their last characters replaced: the page shows their ends.
  const ids = Array.from({ length: size }, (_, i) =>
    i === 0 ? real.self : `${real.self.slice(0, -3)}z${String(i).padStart(2, '0')}`,
  );
  const name = (i: number) => `node-${String(i).padStart(2, '0')}`;
  const pairs = new Set<string>();
  const link = (i: number, j: number) => pairs.add([i % size, j % size].sort((x, y) => x - y).join(' '));
  for (let i = 0; i < size; i++) {
    for (const step of [1, 2, 3]) link(i, i + step);
    if (i % 2 === 0) link(i, i + size / 2);
    if (i % 5 === 0) link(i, i + 12);
  }
  const links = [...pairs].map((pair, n) => {
    const [i, j] = pair.split(' ').map(Number) as [number, number];
    const [a, b] = ids[i]! < ids[j]! ? [ids[i]!, ids[j]!] : [ids[j]!, ids[i]!];
    return {
      ...real.links[0]!,
      a,
      b,
      confirmed: !DOWN.has(i) && !DOWN.has(j) && n % 9 !== 0,
      latencyMs: i === 0 ? 0.4 + j / 10 : null,
    };
  });
  const nodes = ids
    .map((id, i) => ({
      ...real.nodes[0]!,
      id,
      name: name(i),
      status: DOWN.get(i) ?? 'alive',
      self: i === 0,
      agents: 2,
    }))
    .sort((x, y) => (x.id < y.id ? -1 : 1));
  const agents = ids.flatMap((id, i) =>
    ['a', 'b'].map((suffix, k) => ({
      ...agent,
      id: `shell-${name(i)}-${suffix}`,
      node: id,
      local: i === 0,
      live: !DOWN.has(i),
      load: (i + k) % (agent.capacity + 1),
      metadata: { ...agent.metadata, node: name(i) },
      health:
        i % 17 === 3 && k === 0
          ? { degraded: true, reason: 'failure rate 40 % (8 of 20 attempts) vs baseline 2 %' }
          : agent.health,
    })),
  );
  return { mesh: { ...real, nodes, links }, agents };
}

/** Records what `tab` logs as errors: script errors, refused loads, policy violations. */
function collectErrors(tab: Page, into: string[]): void {
  tab.on('pageerror', (err) => into.push(err.message));
  tab.on('console', (msg) => {
    if (msg.type() === 'error') into.push(`${msg.text()} (${msg.location().url})`);
  });
}

/** Scrolls a scroll box to its end, as a person dragging it down would. */
const scrollToEnd = (box: Locator) =>
  box.evaluate((el: { scrollTop: number; scrollHeight: number }) => (el.scrollTop = el.scrollHeight));

/** A raw request, so the path reaches the server exactly as written (fetch would normalise it). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard at /ui on a 3-node mesh, in Chromium', () => {
  const dir = tempDir('dashboard');
  const nodes: DaemonProcess[] = [];
  let browser: BrowserContext;
  let page: Page;
  /** What the main tab logged as errors: script errors, refused loads, policy violations. */
  const pageErrors: string[] = [];

  const config = (name: string, bootstrap: string[]) => ({
    name,
    bootstrap,
    drainTimeoutMs: 2_000,
    logLevel: 'warn',
    agents: [
      {
        id: `shell-${name}`,
        capabilities: ['text'],
        capacity: 2,
        executors: { shell: { allowCommands: ['echo', process.execPath], timeoutMs: 60_000 } },
      },
    ],
    workflows: { 'fan-out': fanOut },
  });
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const open = async (hash: string) => {
    await page.goto(`${nodes[0]!.info.url}/ui/#/${hash}`);
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`the dashboard test drives Chromium at ${CHROMIUM}: apt-get install -y chromium`);
    mkdirSync(ARTIFACTS, { recursive: true });
    const first = await startDaemonProcess(dir, config('node-1', []), { supervised: true });
    nodes.push(first);
    nodes.push(await startDaemonProcess(dir, config('node-2', first.info.multiaddrs), { supervised: true }));
    nodes.push(
      await startDaemonProcess(
        dir,
        config(
          'node-3',
          nodes.flatMap((n) => n.info.multiaddrs),
        ),
        { supervised: true },
      ),
    );
    await waitFor('every node to see the other two', 30_000, async () => {
      const peers = await Promise.all(nodes.map((n) => api<unknown[]>(n.info.url, '/v1/peers')));
      return peers.every((p) => p.body.length === 2) ? true : undefined;
    });
    browser = await chromium.launchPersistentContext(tempDir('chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
    });
    page = await browser.newPage();
    collectErrors(page, pageErrors);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    for (const n of nodes) n.child.kill('SIGKILL');
  });

  it('shows the whole mesh: 3 nodes, their links and every agent', async () => {
    await open('topology');
    await page.locator('table.nodes tr[data-status="alive"]').nth(2).waitFor();
    expect(await page.locator('table.nodes tbody tr').count()).toBe(3);
    for (const name of ['node-1', 'node-2', 'node-3'])
      await expect.poll(() => page.locator('table.nodes').textContent()).toContain(name);
    await expect.poll(() => page.locator('table.links tbody tr').count()).toBe(3);
    await shot('topology');

    await page.click('#nav-agents');
    await page.locator('tr[data-agent="shell-node-3"]').waitFor();
    expect(await page.locator('tr[data-agent]').count()).toBe(3);
    await shot('agents');
  });

  it('starts a workflow from a template and draws its graph until it succeeds', async () => {
    await open('workflows');
    await page.fill('input[name="api-key"]', API_KEY);
    await page.click('#save-key');
    await page.fill('#start-workflow textarea[name="params"]', '{ "items": ["ann", "bob", "cy"] }');
    await page.click('#start-workflow button[type="submit"]');
    const link = page.locator('#start-workflow .ok a');
    await link.waitFor();
    const run = (await link.textContent())!;
    await link.click();
    await page.locator(`.run[data-run="${run}"][data-status="succeeded"]`).waitFor({ timeout: 30_000 });
    await expect
      .poll(() => page.locator('g.wfstep[data-state="succeeded"]').count(), { timeout: 10_000 })
      .toBe(2);
    await shot('workflow');
    // Every node agrees: the run was started through node-1's page.
    for (const n of nodes)
      expect((await api<{ status: string }>(n.info.url, `/v1/workflows/${run}`)).body.status).toBe(
        'succeeded',
      );
  });

  it('submits a task and cancels it from the page; every node has it cancelled', async () => {
    const release = join(dir, 'never');
    await open('tasks');
    await page.fill(
      '#submit-task textarea[name="input"]',
      JSON.stringify({ executor: 'shell', argv: heldCommand(release) }),
    );
    await page.click('#submit-task button[type="submit"]');
    const link = page.locator('#submit-task .ok a');
    await link.waitFor();
    const id = (await link.textContent())!;
    await page.locator(`a[data-task="${id}"][data-status="running"]`).waitFor({ timeout: 20_000 });
    await shot('tasks');

    await link.click();
    await page.locator('#cancel-task').click();
    await page.locator('h2 .status-cancelled').waitFor({ timeout: 10_000 });
    for (const n of nodes)
      await waitFor(`${n.info.node} to see ${id} cancelled`, 10_000, async () =>
        (await api<Task>(n.info.url, `/v1/tasks/${id}`)).body.status === 'cancelled' ? true : undefined,
      );
    await page.locator('svg.timeline g[data-outcome]').first().waitFor();
    await shot('task');
  });

  it('browses shared memory and charts the activity', async () => {
    const put = await api(nodes[1]!.info.url, '/v1/memory/notes/greeting', {
      method: 'PUT',
      body: { type: 'lww', value: { text: 'hello from node-2' } },
    });
    expect(put.status).toBe(200);
    // Written on node-2, read through node-1's page once it has arrived there.
    await waitFor('the member on node-1', 15_000, async () =>
      (await api(nodes[0]!.info.url, '/v1/memory/notes/greeting')).status === 200 ? true : undefined,
    );
    await open('memory/notes/greeting');
    await expect
      .poll(() => page.locator('#member-value').textContent(), { timeout: 15_000 })
      .toContain('hello from node-2');
    await shot('memory');

    await open('charts');
    await expect.poll(() => page.locator('#activity-totals').textContent()).toMatch(/[1-9]\d* succeeded/);
    await expect.poll(() => page.locator('.chart canvas').count()).toBe(3);
    await shot('charts');
  });

  it('refuses actions without the key: the page shows the 401', async () => {
    const count = async () =>
      (await api<{ items: Task[] }>(nodes[2]!.info.url, '/v1/tasks?limit=10000')).body.items.length;
    const before = await count();
    // A new tab: the key is kept per tab, so this one has none.
    const anonymous = await browser.newPage();
    await anonymous.goto(`${nodes[2]!.info.url}/ui/#/tasks`);
    await anonymous.click('#submit-task button[type="submit"]');
    await expect.poll(() => anonymous.locator('#submit-task .error').getAttribute('data-status')).toBe('401');
    await anonymous.screenshot({ path: join(ARTIFACTS, 'unauthorized.png'), fullPage: true });
    await anonymous.close();
    expect(await count()).toBe(before);
  });

  it('serves only its own files: path traversal is refused', async () => {
    const url = nodes[0]!.info.url;
    const index = await fetch(`${url}/ui/`);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const script = /src="\/ui\/([^"]+\.js)"/.exec(await index.text())![1]!;
    const asset = await fetch(`${url}/ui/${script}`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    // Compressed for a client that accepts it (fetch does), the same bytes plain for one that does not.
    expect(asset.headers.get('content-encoding')).toBe('gzip');
    const plain = await rawGet(url, `/ui/${script}`);
    expect(plain.status).toBe(200);
    expect(await asset.text()).toBe(plain.body);
    expect(Number(asset.headers.get('content-length'))).toBeLessThan(plain.body.length / 2);
    for (const path of [
      '/ui/..%2F..%2Fpackage.json',
      '/ui/%2e%2e%2fsrc%2fcli.ts',
      '/ui/..%5c..%5cpackage.json',
      '/ui/%2Fetc%2Fpasswd',
      '/ui/main.tsx',
    ]) {
      const res = await rawGet(url, path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).not.toContain('"name"');
    }
    // Resolved by the URL parser to /package.json, which no route serves. The server may cut the
    // connection after that 404 (as for any error answer there), so only "not served" is certain.
    const dotted = await rawGet(url, '/ui/../../package.json').catch(() => ({ status: 0, body: '' }));
    expect([0, 404]).toContain(dotted.status);
    expect(dotted.body).not.toContain('"name"');
  });

  it('answers /v1/mesh with every node and link, and validates /v1/activity', async () => {
    const mesh = await api<{ nodes: { name: string; status: string }[]; links: { confirmed: boolean }[] }>(
      nodes[1]!.info.url,
      '/v1/mesh',
    );
    expect(mesh.body.nodes.map((n) => [n.name, n.status])).toEqual(
      expect.arrayContaining([
        ['node-1', 'alive'],
        ['node-2', 'alive'],
        ['node-3', 'alive'],
      ]),
    );
    expect(mesh.body.links.filter((l) => l.confirmed)).toHaveLength(3);
    // What the earlier tests ran: the workflow's 4 tasks, and the held task cancelled while running.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    for (const n of nodes) {
      const { body } = await api<Record<string, number[]>>(n.info.url, '/v1/activity?windowMs=600000');
      expect(
        [body.succeeded, body.failed, body.starts, body.duplicateStarts, body.failovers].map((xs) =>
          sum(xs!),
        ),
        n.info.node,
      ).toEqual([4, 0, 5, 0, 0]);
      expect(body.submitToStartMeanMs!.some((ms) => ms !== null && ms >= 0)).toBe(true);
    }
    for (const [query, field] of [
      ['windowMs=5', 'windowMs'],
      ['windowMs=60000&bucketMs=x', 'bucketMs'],
      ['windowMs=86400000&bucketMs=1000', 'bucketMs'],
      ['since=1', 'since'],
    ] as const) {
      const res = await api<{ error: { code: string; field: string } }>(
        nodes[0]!.info.url,
        `/v1/activity?${query}`,
      );
      expect(res.status, query).toBe(400);
      expect(res.body.error, query).toMatchObject({ code: 'invalid_request', field });
    }
  });

  it('keeps the task list usable with 10,000 tasks: only the rows in view are in the page', async () => {
    // A mesh holding 10,000 tasks takes minutes to fill over HTTP on a CI machine, so the page's
    // initial list is answered with 10,000 copies of a real task from the API; the page, its
    // stream and every other read stay the daemon's.
    const [real] = (
      await api<{ items: (Task & { submittedAt: number })[] }>(nodes[0]!.info.url, '/v1/tasks?limit=1')
    ).body.items;
    const bulk = Array.from({ length: 10_000 }, (_, i) => ({
      ...real!,
      id: `bulk-${String(i).padStart(5, '0')}`,
      submittedAt: real!.submittedAt - i,
    }));
    const tab = await browser.newPage();
    await tab.route('**/v1/tasks?limit=10000', (route) =>
      route.fulfill({ json: { items: bulk, nextCursor: null } }),
    );
    await tab.goto(`${nodes[0]!.info.url}/ui/#/tasks`);
    await expect
      .poll(() => tab.locator('#task-count').textContent(), { timeout: 20_000 })
      .toBe('10000 of 10000 tasks');
    expect(await tab.locator('a.task-row').count()).toBeLessThan(60);
    await tab
      .locator('.vlist')
      .evaluate((el: { scrollTop: number; scrollHeight: number }) => (el.scrollTop = el.scrollHeight));
    await tab.locator('a.task-row[data-task="bulk-09999"]').waitFor();
    expect(await tab.locator('a.task-row').count()).toBeLessThan(60);
    await tab.fill('input[name="filter"]', 'bulk-04242');
    await tab.locator('a.task-row[data-task="bulk-04242"]').waitFor();
    expect(await tab.locator('#task-count').textContent()).toBe('1 of 10000 tasks');
    await tab.screenshot({ path: join(ARTIFACTS, 'tasks-10000.png'), fullPage: true });
    await tab.close();
  });

  it('stays usable at 50 nodes and 100 agents: the graph, tables and agents list them all', async () => {
    // The page's reads of the mesh and its agents are answered with a 50-node mesh built from
    // this daemon's own answers; everything else (the page, its stream, tasks) stays the daemon's.
    const url = nodes[0]!.info.url;
    const real = (await api<MeshAnswer>(url, '/v1/mesh')).body;
    const [agent] = (await api<AgentAnswer[]>(url, '/v1/agents')).body;
    const { mesh, agents } = largeMesh(real, agent!, 50);
    const degree = new Map<string, number>();
    for (const l of mesh.links) for (const end of [l.a, l.b]) degree.set(end, (degree.get(end) ?? 0) + 1);
    expect(Math.min(...degree.values())).toBeGreaterThanOrEqual(6);
    expect(Math.max(...degree.values())).toBeLessThanOrEqual(10);
    const oneSided = mesh.links.filter((l) => !l.confirmed);
    expect(oneSided.length).toBeGreaterThan(0);

    const tab = await browser.newPage();
    const errors: string[] = [];
    collectErrors(tab, errors);
    await tab.route('**/v1/mesh', (route) => route.fulfill({ json: mesh }));
    await tab.route('**/v1/agents', (route) => route.fulfill({ json: agents }));
    try {
      await tab.goto(`${url}/ui/#/topology`);
      const graph = tab.locator('.topology');
      await expect.poll(() => graph.getAttribute('data-nodes'), { timeout: 15_000 }).toBe('50');
      expect(await graph.getAttribute('data-links')).toBe(String(mesh.links.length));
      expect(await graph.getAttribute('data-down')).toBe(String(DOWN.size));
      expect(await tab.locator('#mesh-count').textContent()).toBe(
        `50 nodes, ${mesh.links.length} links, ${DOWN.size} not alive`,
      );
      await tab.screenshot({ path: join(ARTIFACTS, 'topology-50.png'), fullPage: true });

      // Tables longer than their box keep only the rows in view in the page.
      const nodeRows = tab.locator('table.nodes tr[data-node]');
      expect(await nodeRows.count()).toBeLessThan(40);
      const linkRows = tab.locator('table.links tr[data-link]');
      expect(await linkRows.count()).toBeLessThan(40);
      // Dead nodes show as such, in view at the top and once scrolled to the end.
      const downRow = (i: number) =>
        tab.locator(`table.nodes tr[data-node$="z${i}"] .status-${DOWN.get(i)!}`);
      await downRow(10).waitFor();
      await scrollToEnd(tab.locator('.vtable:has(table.nodes)'));
      await tab.locator(`table.nodes tr[data-node="${mesh.nodes.at(-1)!.id}"]`).waitFor();
      await downRow(40).waitFor();
      expect(await nodeRows.count()).toBeLessThan(40);
      const lastLink = mesh.links.at(-1)!;
      await scrollToEnd(tab.locator('.vtable:has(table.links)'));
      await tab.locator(`table.links tr[data-link="${lastLink.a}|${lastLink.b}"]`).waitFor();
      expect(await linkRows.count()).toBeLessThan(40);
      expect(await tab.locator('table.links').textContent()).toContain('one-sided');

      await tab.click('#nav-agents');
      await expect.poll(() => tab.locator('#agent-count').textContent()).toBe('100 agents');
      const agentRows = tab.locator('tr[data-agent]');
      expect(await agentRows.count()).toBeLessThan(40);
      // An agent of an unreachable node is down; one of this node is live.
      await tab.locator('tr[data-agent="shell-node-00-a"] .status-live').waitFor();
      await tab.locator('tr[data-agent="shell-node-10-a"] .status-down').waitFor();
      await scrollToEnd(tab.locator('.vtable:has(table.agents)'));
      await tab.locator('tr[data-agent="shell-node-49-b"]').waitFor();
      await tab.locator('tr[data-agent="shell-node-40-b"] .status-down').waitFor();
      expect(await agentRows.count()).toBeLessThan(40);
      await expect.poll(() => tab.locator('.chart canvas').count()).toBe(2);
      await tab.screenshot({ path: join(ARTIFACTS, 'agents-100.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await tab.close();
    }
  });

  it('draws a burst of 1,000 task events at most four times a second, plus its polls', async () => {
    const url = nodes[0]!.info.url;
    const tab = await browser.newPage();
    const errors: string[] = [];
    collectErrors(tab, errors);
    try {
      await tab.goto(`${url}/ui/#/tasks`);
      const held = (await api<{ items: Task[] }>(url, '/v1/tasks?limit=10000')).body.items.length;
      await expect.poll(() => tab.locator('#connection').textContent(), { timeout: 15_000 }).toBe('live');
      await expect.poll(() => tab.locator('#task-count').textContent()).toBe(`${held} of ${held} tasks`);
      const renders = async () => Number(await tab.locator('#tasks').getAttribute('data-renders'));
      const before = await renders();
      const started = performance.now();
      // Tasks no agent can take (they need a capability none has): one event each, as fast as the
      // daemon accepts them, 25 submissions at a time.
      const total = 1_000;
      let next = 0;
      await Promise.all(
        Array.from({ length: 25 }, async () => {
          while (next < total) {
            const id = `burst-${String(next++).padStart(4, '0')}`;
            const res = await api(url, '/v1/tasks', {
              body: { id, input: { executor: 'shell', argv: ['echo', id] }, needs: ['nowhere'] },
            });
            expect(res.status, id).toBe(201);
          }
        }),
      );
      const all = held + total;
      await expect
        .poll(() => tab.locator('#task-count').textContent(), { timeout: 30_000 })
        .toBe(`${all} of ${all} tasks`);
      const seconds = (performance.now() - started) / 1000;
      const drawn = (await renders()) - before;
      // The store renders at most every 250 ms; the mesh (every 3 s) and status (every 10 s)
      // reads draw the page too. A slow machine only lowers this count; drawing per event would
      // be one per chunk the stream delivers, hundreds.
      expect(drawn).toBeGreaterThan(0);
      expect(drawn).toBeLessThanOrEqual(Math.ceil(seconds * (4 + 1 / 3 + 1 / 10)) + 3);
      expect(errors).toEqual([]);
    } finally {
      await tab.close();
    }
  });

  it('works where reads need the key too: nothing shows until it is entered, then all of it, live', async () => {
    // Listening beyond loopback: every read under /v1/ wants the key; the page itself stays open.
    const exposed = await startDaemonProcess(
      dir,
      { ...config('exposed', []), http: { host: '0.0.0.0', port: 0 } },
      { supervised: true },
    );
    const port = new URL(exposed.info.url).port;
    const tab = await browser.newPage();
    try {
      await tab.goto(`http://127.0.0.1:${port}/ui/#/agents`);
      await expect.poll(() => tab.locator('.error').first().getAttribute('data-status')).toBe('401');
      expect(await tab.locator('#connection').textContent()).toBe('connecting…');
      await tab.fill('input[name="api-key"]', API_KEY);
      await tab.click('#save-key');
      await tab.locator('tr[data-agent="shell-exposed"]').waitFor({ timeout: 15_000 });
      await expect.poll(() => tab.locator('#connection').textContent(), { timeout: 15_000 }).toBe('live');
    } finally {
      await tab.close();
      exposed.child.kill('SIGKILL');
    }
  });

  it('ran every view of the main tab without a script error or a refused load', () => {
    expect(pageErrors).toEqual([]);
  });
});

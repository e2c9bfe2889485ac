import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpMcpClient } from './support/mcp-client.ts';
import { startDaemonProcess, tempDir, type DaemonProcess } from './support/processes.ts';

const MODULE_LOG_HOOK = fileURLToPath(new URL('./support/module-log.ts', import.meta.url));
const MCP_SDK = '@modelcontextprotocol/sdk/';
const OTEL_SDK = ['@opentelemetry/sdk-trace', '@opentelemetry/exporter-trace-otlp-http'];

// Each SDK is some tens of megabytes resident: a daemon loads it only when it is used.
describe('a daemon loads the MCP and OpenTelemetry SDKs only when used', () => {
  let daemon: DaemonProcess;
  let log: string;
  const loaded = (part: string): boolean => readFileSync(log, 'utf8').includes(part);

  beforeAll(async () => {
    const dir = tempDir('lazy-sdks');
    log = join(dir, 'modules.log');
    daemon = await startDaemonProcess(
      dir,
      { name: 'lazy' },
      { env: { NODE_OPTIONS: `--import ${MODULE_LOG_HOOK}`, MESHWORK_TEST_MODULE_LOG: log } },
    );
  });
  afterAll(async () => {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  });

  it('serves the mesh without them, and loads the MCP SDK with the first MCP session', async () => {
    // The log holds the daemon's own modules, so an empty or missing log cannot pass.
    expect(loaded('/src/daemon.ts')).toBe(true);
    expect(loaded(MCP_SDK)).toBe(false);
    for (const sdk of OTEL_SDK) expect(loaded(sdk)).toBe(false);

    const client = await httpMcpClient(daemon.info.url);
    const { tools } = await client.client.listTools();
    expect(tools.length).toBeGreaterThan(0);
    await client.close();
    expect(loaded(`${MCP_SDK}dist/esm/server/streamableHttp.js`)).toBe(true);
    expect(loaded(`${MCP_SDK}dist/esm/server/mcp.js`)).toBe(true);
    for (const sdk of OTEL_SDK) expect(loaded(sdk)).toBe(false);
  });
});

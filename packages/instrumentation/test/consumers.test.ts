import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOpenAIServer, startFakeOpenAIServer } from './fixtures/fake-openai-server.js';

const run = promisify(execFile);
const consumers = fileURLToPath(new URL('./fixtures/consumers/', import.meta.url));
const builtEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

let server: FakeOpenAIServer;
beforeAll(async () => {
  if (!existsSync(builtEntry)) {
    throw new Error(`${builtEntry} is missing: run \`npm run build\` first (npm test does)`);
  }
  server = await startFakeOpenAIServer();
});
afterAll(async () => {
  await server.close();
});

async function spanNames(args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, args, {
    cwd: consumers,
    env: { ...process.env, FAKE_OPENAI_URL: server.baseURL },
    timeout: 20_000,
  });
  const lastLine = stdout.trim().split('\n').at(-1) ?? '';
  // Sorted: the order in which spans finish is not part of the contract.
  return (JSON.parse(lastLine) as [string, string | null][]).sort(([a], [b]) => a.localeCompare(b));
}

// Each consumer loads the BUILT package (dist) the way an application would.
describe('consumers of the built package', () => {
  it('ESM: `import OpenAI from "openai"` is patched with --import @switchyard/instrumentation/hook', async () => {
    const names = await spanNames([
      '--import',
      '@switchyard/instrumentation/hook',
      '--import',
      './esm-setup.mjs',
      'esm-app.mjs',
    ]);
    expect(names).toEqual([
      ['chat gpt-4o-mini', 'esm-agent'],
      ['invoke_agent esm-agent', 'esm-agent'],
    ]);
  });

  it('ESM without the hook gets no client span (the hook is what patches ESM)', async () => {
    const names = await spanNames(['--import', './esm-setup.mjs', 'esm-app.mjs']);
    expect(names).toEqual([['invoke_agent esm-agent', 'esm-agent']]);
  });

  it('CommonJS: `require("openai")` is patched as it loads', async () => {
    const names = await spanNames(['cjs-app.cjs']);
    expect(names).toEqual([
      ['embeddings text-embedding-3-small', 'cjs-agent'],
      ['invoke_agent cjs-agent', 'cjs-agent'],
    ]);
  });
});

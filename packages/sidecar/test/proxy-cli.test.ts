/**
 * The built CLI as a user runs it: `switchyard start` in a child process, stopped with SIGTERM
 * while a stream is in flight. Needs `npm run build` (as `npm test` does first).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeUpstream, heldStream, startFakeUpstream } from './proxy-fixtures.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');

describe('switchyard CLI (built)', () => {
  let upstream: FakeUpstream | undefined;
  let child: ChildProcess | undefined;
  let stateDir: string | undefined;

  afterEach(async () => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    child = undefined;
    await upstream?.close();
    upstream = undefined;
    if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
  });

  it('exists (run npm run build first)', () => {
    expect(existsSync(cli), `${cli} is missing: run npm run build`).toBe(true);
  });

  it('lists commands, rejects unknown ones with exit 2, and explains bad settings', () => {
    const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/start.*\n.*rules.*\n.*replay/);
    const unknown = spawnSync(process.execPath, [cli, 'launch'], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'launch'");
    const startHelp = spawnSync(process.execPath, [cli, 'start', '--help'], { encoding: 'utf8' });
    expect(startHelp.status).toBe(0);
    expect(startHelp.stdout).toContain('SWITCHYARD_UPSTREAM_URL');
    const bad = spawnSync(process.execPath, [cli, 'start'], {
      encoding: 'utf8',
      env: { ...process.env, SWITCHYARD_PORT: 'abc' },
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("SWITCHYARD_PORT must be an integer 0-65535, got 'abc'");
  });

  it('serves, and on SIGTERM finishes the in-flight stream before exiting 0', async () => {
    upstream = await startFakeUpstream();
    const held = heldStream('first', ' last');
    upstream.behavior = held.behavior;
    stateDir = mkdtempSync(join(tmpdir(), 'sy-cli-'));
    const proc = spawn(process.execPath, [cli, 'start', '--port', '0'], {
      env: {
        PATH: process.env.PATH,
        SWITCHYARD_UPSTREAM_URL: upstream.baseURL,
        SWITCHYARD_STATE_DIR: stateDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no start line: ${out}`)), 10_000);
      proc.stdout?.on('data', () => {
        const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1] as string);
        }
      });
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-cli', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      messages: [{ role: 'user', content: 'PROMPT-NOT-IN-LOGS' }],
    });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value?.choices[0]?.delta?.content).toBe('first');
    proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    held.release();
    let rest = '';
    for (let n = await it.next(); !n.done; n = await it.next())
      rest += n.value.choices[0]?.delta?.content ?? '';
    expect(rest).toBe(' last');
    expect(await exited).toBe(0);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === 'request')).toMatchObject({
      path: '/v1/chat/completions',
      status: 200,
      model: 'gpt-4o',
    });
    expect(lines.at(-1)?.msg).toBe('switchyard sidecar stopped');
    expect(out).not.toContain('PROMPT-NOT-IN-LOGS');
    expect(out).not.toContain('sk-cli');
  }, 20_000);
});

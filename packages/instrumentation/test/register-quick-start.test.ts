import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The quick start is the first thing a newcomer runs (`npm run demo`): it must finish by itself,
// exit 0 and show the spans. It runs against the built package, as a user would (npm test builds).
const script = fileURLToPath(new URL('../../../examples/quick-start.mjs', import.meta.url));

function run(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('examples/quick-start.mjs', () => {
  it('exits 0 on its own and prints the agent spans with tokens, cost and feedback', async () => {
    const { code, stdout, stderr } = await run();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    for (const name of [
      'workflow quick-start',
      'invoke_agent research',
      'chat gpt-4o-mini',
      'chat gpt-4o ',
      'chat gpt-4.1-nano',
      'switchyard.feedback',
    ]) {
      expect(stdout).toContain(name);
    }
    const draftRow = stdout.split('\n').find((l) => l.includes('chat gpt-4o '));
    // The streamed call reports usage (include_usage), so it has tokens and a cost.
    expect(draftRow).toMatch(/draft\s+write\s+gpt-4o-2024-08-06\s+\d+\s+\d+\s+0\.\d{6}/);
    expect(stdout).toMatch(/0\.9 \(reviewer\)/);
    const total = Number(/total cost \$(\d+\.\d+)/.exec(stdout)?.[1]);
    expect(total).toBeGreaterThan(0);
    expect(stdout).toMatch(/switchyard\.client\.cost by agent: research \$0\.\d+, draft/);
  });
});

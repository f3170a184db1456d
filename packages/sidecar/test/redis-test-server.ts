/**
 * Test support for the Redis service tests (owned with `redis*.test.ts` and `cache*.test.ts`).
 *
 * The shared server (`REDIS_URL`, default `redis://127.0.0.1:6379`) is used with a unique key
 * prefix per test and cleaned up by prefix. Outage tests spawn their own throwaway
 * `redis-server` so they can kill, freeze and restart it without touching the shared one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A plain client to the shared server; fails with a clear message when it is unreachable. */
export async function connectSharedRedis(): Promise<Redis> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    // Never skip: a Redis test that silently does nothing would hide a broken tier (and CI fails).
    throw new Error(
      `Redis is unreachable at ${new URL(REDIS_URL).host} (${(err as Error).message}). ` +
        'Start redis-server or set REDIS_URL; these service tests need a real Redis.',
    );
  }
  return client;
}

/** A key prefix no other test uses. */
export function uniquePrefix(): string {
  return `sy-test:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix` (SCAN, never FLUSHDB: the server is shared). */
export async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true, failing after `timeoutMs` with `what` in the message. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A throwaway redis-server child on a port of its own. */
export class OwnRedisServer {
  readonly port: number;
  #child: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  static async start(port?: number): Promise<OwnRedisServer> {
    const server = new OwnRedisServer(port ?? (await freePort()));
    await server.start();
    return server;
  }

  /** (Re)starts the server on the same port and waits until it answers PING. */
  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });
    this.#child = child;
    await waitFor(`redis-server on port ${this.port}`, async () => {
      if (spawnError !== undefined) {
        throw new Error(
          `Cannot run redis-server (${spawnError.message}); the outage tests need the Redis ` +
            'server binary on the PATH (e.g. apt-get install redis-server).',
        );
      }
      if (child.exitCode !== null) {
        throw new Error(
          `redis-server exited with code ${child.exitCode} (port ${this.port} taken?)`,
        );
      }
      const probe = new Redis(this.url, {
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    });
  }

  /** Sends a signal to the server process (SIGSTOP freezes it, SIGCONT resumes). */
  signal(sig: NodeJS.Signals): void {
    this.#child?.kill(sig);
  }

  /** Kills the server at once (SIGKILL) and waits for the process to exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }
}

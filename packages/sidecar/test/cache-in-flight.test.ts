import { describe, expect, it } from 'vitest';
import { InFlight } from '../src/cache/in-flight.js';

describe('InFlight', () => {
  it('runs one producer for N concurrent identical keys', async () => {
    const inFlight = new InFlight<string>();
    let calls = 0;
    let release!: (v: string) => void;
    const producer = () => {
      calls++;
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    };
    const runs = Array.from({ length: 10 }, () => inFlight.run('k', producer));
    expect(calls).toBe(1);
    expect(runs.filter((r) => r.leader)).toHaveLength(1);
    expect(inFlight.size).toBe(1);
    release('answer');
    expect(await Promise.all(runs.map((r) => r.promise))).toEqual(Array(10).fill('answer'));
    expect(inFlight.size).toBe(0);
    // After it settled, the next request starts fresh.
    const next = inFlight.run('k', async () => 'again');
    expect(next.leader).toBe(true);
    expect(await next.promise).toBe('again');
    expect(calls).toBe(1);
  });

  it('keeps different keys apart', async () => {
    const inFlight = new InFlight<string>();
    const a = inFlight.run('a', async () => 'A');
    const b = inFlight.run('b', async () => 'B');
    expect(a.leader && b.leader).toBe(true);
    expect([await a.promise, await b.promise]).toEqual(['A', 'B']);
  });

  it('gives followers the leader failure and then forgets it', async () => {
    const inFlight = new InFlight<string>();
    let reject!: (e: Error) => void;
    const leader = inFlight.run(
      'k',
      () =>
        new Promise<string>((_, r) => {
          reject = r;
        }),
    );
    const follower = inFlight.run('k', async () => 'never');
    expect(follower.leader).toBe(false);
    reject(new Error('upstream 500'));
    await expect(leader.promise).rejects.toThrow('upstream 500');
    await expect(follower.promise).rejects.toThrow('upstream 500');
    expect(inFlight.size).toBe(0);
    // A producer that throws synchronously is a failure too, and does not stick.
    const sync = inFlight.run('k', () => {
      throw new Error('boom');
    });
    await expect(sync.promise).rejects.toThrow('boom');
    expect(inFlight.size).toBe(0);
  });
});

/**
 * Coalescing of identical requests that are in flight at the same time.
 *
 * The first caller for a key (the leader) runs the producer; callers that arrive before it
 * settles (followers) get the same promise instead of a second upstream call. The entry is
 * removed as soon as the producer settles, success or failure, so the map holds only requests
 * that are running right now (bounded by concurrency) and a later request starts fresh.
 * Followers of a failed leader get the same failure: they asked the same question at the same
 * moment, and retrying for each would multiply load on an upstream that is already failing.
 */

/**
 * @example
 * const inFlight = new InFlight<CachedResponse>();
 * const { leader, promise } = inFlight.run(key, () => callUpstream());
 * const answer = await promise; // status 'coalesced' when !leader
 */
export class InFlight<T> {
  readonly #running = new Map<string, Promise<T>>();

  /** Joins the running producer for `key`, or starts `producer` as the leader. */
  run(key: string, producer: () => Promise<T>): { leader: boolean; promise: Promise<T> } {
    const running = this.#running.get(key);
    if (running !== undefined) return { leader: false, promise: running };
    let promise: Promise<T>;
    try {
      promise = producer();
    } catch (err) {
      promise = Promise.reject(err);
    }
    this.#running.set(key, promise);
    const clear = (): void => {
      if (this.#running.get(key) === promise) this.#running.delete(key);
    };
    promise.then(clear, clear);
    return { leader: true, promise };
  }

  /** Number of distinct keys in flight. */
  get size(): number {
    return this.#running.size;
  }
}

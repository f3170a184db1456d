/**
 * Circuit breakers, one per upstream model. A model that keeps failing is refused for a
 * cooldown instead of making every caller wait for its timeouts; then one trial call decides
 * whether it is healthy again.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** How long the breaker stays open before allowing one trial call (ms). */
  readonly cooldownMs: number;
  /** Monotonic clock in ms. */
  readonly now: () => number;
}

/** One model's breaker. */
export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #trialInFlight = false;
  readonly #options: CircuitBreakerOptions;

  constructor(options: CircuitBreakerOptions) {
    this.#options = options;
  }

  get state(): BreakerState {
    if (
      this.#state === 'open' &&
      this.#options.now() - this.#openedAt >= this.#options.cooldownMs
    ) {
      return 'half-open';
    }
    return this.#state;
  }

  /**
   * Asks to make a call. False while open; in half-open only the first caller gets through
   * (the trial), the others are refused until it reports.
   */
  tryAcquire(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open') {
      if (this.#options.now() - this.#openedAt < this.#options.cooldownMs) return false;
      this.#state = 'half-open';
      this.#trialInFlight = false;
    }
    if (this.#trialInFlight) return false;
    this.#trialInFlight = true;
    return true;
  }

  onSuccess(): void {
    this.#state = 'closed';
    this.#failures = 0;
    this.#trialInFlight = false;
  }

  onFailure(): void {
    this.#trialInFlight = false;
    if (this.#state === 'half-open') {
      this.#open();
      return;
    }
    this.#failures++;
    if (this.#failures >= this.#options.failureThreshold) this.#open();
  }

  /** A call that ended without a verdict (client abort): frees the half-open trial slot. */
  onRelease(): void {
    this.#trialInFlight = false;
  }

  #open(): void {
    this.#state = 'open';
    this.#openedAt = this.#options.now();
    this.#failures = 0;
  }
}

/**
 * The breakers of all models, created on first use. Bounded: model names come from clients,
 * so past `maxBreakers` the oldest breaker is forgotten (it starts closed again if seen later).
 */
export class CircuitBreakers {
  readonly #byKey = new Map<string, CircuitBreaker>();
  readonly #options: CircuitBreakerOptions;
  readonly #max: number;

  constructor(options: CircuitBreakerOptions, maxBreakers = 1000) {
    this.#options = options;
    this.#max = maxBreakers;
  }

  get(key: string): CircuitBreaker {
    let b = this.#byKey.get(key);
    if (b === undefined) {
      if (this.#byKey.size >= this.#max) {
        const oldest = this.#byKey.keys().next();
        if (oldest.done !== true) this.#byKey.delete(oldest.value);
      }
      b = new CircuitBreaker(this.#options);
      this.#byKey.set(key, b);
    }
    return b;
  }

  /** Current states, for /readyz-style diagnostics and tests. */
  states(): Record<string, BreakerState> {
    const out: Record<string, BreakerState> = {};
    for (const [k, b] of this.#byKey) out[k] = b.state;
    return out;
  }
}

/**
 * A fixed-capacity first-in-first-out ring: the arrival order of the feedback join's entries.
 *
 * The join does not use a `Map`'s insertion order for this: V8 leaves a deleted entry's slot in
 * place until the table is rebuilt, so repeatedly taking the first entry of a Map that is
 * deleted from the front walks all those holes, and eviction turns quadratic under load.
 */
export class ArrivalRing<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  /** Appends; the caller makes room first (`shift`) when the ring is full. */
  push(item: T): void {
    if (this.count === this.capacity) throw new RangeError('ArrivalRing is full');
    this.items[(this.head + this.count) % this.capacity] = item;
    this.count++;
  }

  /** The oldest item, without removing it. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return item;
  }
}

/**
 * A queue of objects in the order they were added, each at most once, with
 * a number kept per entry, that notes on each object where it stands. A
 * bulk send moves a million sync objects through FTFW's transmit and resend
 * queues: kept in Maps, every step was a hash lookup into a large table (a
 * cache miss or two), and those lookups were some 40% of a bulk send's work.
 * Here adding is a push, and looking up or removing an object reads the
 * position it carries.
 *
 * A removed object leaves a hole that walks skip; compact() closes the
 * holes once they outnumber the objects, and must not run during a walk.
 * The arrays only grow and are compacted in place: a bulk send of a
 * million objects fills them once, not once per compaction (a new array is
 * fresh memory, and first-touched pages are dear on a virtual machine).
 */
export interface QueuePosition<T> {
  /** The object's position in this queue, or -1 (undefined: never queued). */
  get(item: T): number | undefined;
  set(item: T, position: number): void;
}

export class ElementQueue<T extends object> {
  private readonly items: (T | undefined)[] = [];
  private readonly values: number[] = [];
  /** The position of items[0], so positions stay valid while the front is dropped. */
  private base = 0;
  /** The entries in use are [head, end): before head, holes only; from end, room. */
  private head = 0;
  private end = 0;
  private count = 0;

  constructor(private readonly position: QueuePosition<T>) {}

  get size(): number {
    return this.count;
  }

  has(item: T): boolean {
    return (this.position.get(item) ?? -1) >= 0;
  }

  /** Appends `item` (not queued) with `value`. */
  push(item: T, value: number): void {
    const i = this.end++;
    this.position.set(item, this.base + i);
    if (i < this.items.length) {
      this.items[i] = item;
      this.values[i] = value;
    } else {
      this.items.push(item);
      this.values.push(value);
    }
    this.count++;
  }

  /** The value `item` was queued with; undefined when not queued. */
  value(item: T): number | undefined {
    const at = this.position.get(item) ?? -1;
    return at < 0 ? undefined : this.values[at - this.base];
  }

  /** Takes `item` out; false when it was not queued. */
  delete(item: T): boolean {
    const at = this.position.get(item) ?? -1;
    if (at < 0) return false;
    this.items[at - this.base] = undefined;
    this.position.set(item, -1);
    this.count--;
    return true;
  }

  /** The oldest object, or undefined. */
  first(): T | undefined {
    this.skipHoles();
    return this.items[this.head];
  }

  /**
   * Calls `visit` with each object and its value, oldest first, until it
   * returns false; what is added during the walk is reached too. A loop
   * calling back rather than a generator: a bulk send walks a million
   * entries, and resuming a generator (and the pair it yields) cost more
   * than the step itself.
   */
  walk(visit: (item: T, value: number) => boolean | void): void {
    for (let i = this.head; i < this.end; i++) {
      const item = this.items[i];
      if (item !== undefined && visit(item, this.values[i]!) === false) return;
    }
  }

  clear(): void {
    this.walk((item) => this.position.set(item, -1));
    this.items.fill(undefined, this.head, this.end);
    this.base += this.end;
    this.head = this.end = this.count = 0;
  }

  /** Closes the holes once they are most of the queue (amortized: each hole is passed once). */
  compact(): void {
    this.skipHoles();
    const holes = this.end - this.count;
    if (holes < 1024 || holes < this.count) return;
    const { items, values } = this;
    const base = this.base + this.end;
    let kept = 0;
    for (let i = this.head; i < this.end; i++) {
      const item = items[i];
      if (item === undefined) continue;
      this.position.set(item, base + kept);
      items[kept] = item;
      values[kept++] = values[i]!;
    }
    items.fill(undefined, kept, this.end);
    this.base = base;
    this.head = 0;
    this.end = kept;
  }

  private skipHoles(): void {
    while (this.head < this.end && this.items[this.head] === undefined) this.head++;
  }
}

/**
 * A queue of objects in the order they were added, each at most once, with
 * a number kept per entry, that notes on each object where it stands. A
 * bulk send moves a million sync objects through FTFW's transmit and resend
 * queues: kept in Maps, every step was a hash lookup into a large table (a
 * cache miss or two), and those lookups were half of a bulk send's work.
 * Here adding is a push, and looking up or removing an object reads the
 * position it carries.
 *
 * A removed object leaves a hole that walks skip; compact() closes the
 * holes once they outnumber the objects, and must not run during a walk.
 */
export interface QueuePosition<T> {
  /** The object's position in this queue, or -1 (undefined: never queued). */
  get(item: T): number | undefined;
  set(item: T, position: number): void;
}

export class ElementQueue<T extends object> {
  private items: (T | undefined)[] = [];
  private values: number[] = [];
  /** The position of items[0], so positions stay valid while the front is dropped. */
  private base = 0;
  /** Index of the first entry that may hold an object. */
  private head = 0;
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
    this.position.set(item, this.base + this.items.length);
    this.items.push(item);
    this.values.push(value);
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

  /** The objects with their values, oldest first; what is added during the walk is reached too. */
  *entries(): Generator<[T, number]> {
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item !== undefined) yield [item, this.values[i]!];
    }
  }

  *keys(): Generator<T> {
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item !== undefined) yield item;
    }
  }

  clear(): void {
    for (const item of this.keys()) this.position.set(item, -1);
    this.base += this.items.length;
    this.items = [];
    this.values = [];
    this.head = 0;
    this.count = 0;
  }

  /** Closes the holes once they are most of the queue (amortized: each hole is passed once). */
  compact(): void {
    this.skipHoles();
    const holes = this.items.length - this.count;
    if (holes < 1024 || holes < this.count) return;
    const items: T[] = [];
    const values: number[] = [];
    const base = this.base + this.items.length;
    for (const [item, value] of this.entries()) {
      this.position.set(item, base + items.length);
      items.push(item);
      values.push(value);
    }
    this.base = base;
    this.items = items;
    this.values = values;
    this.head = 0;
  }

  private skipHoles(): void {
    while (this.head < this.items.length && this.items[this.head] === undefined) this.head++;
  }
}

/**
 * Deadlines of many objects (ALARM's per-object refresh and expiry), due
 * ones in order, in O(log n) per change: a binary min-heap in which
 * re-arming or cancelling an object only marks its old entry stale, to be
 * skipped when it reaches the top.
 */
interface Entry<K> {
  at: number;
  key: K;
}

export class TimerHeap<K> {
  private readonly heap: Entry<K>[] = [];
  /** The live deadline of each armed key; heap entries that disagree are stale. */
  private readonly live = new Map<K, number>();

  /** Arms (or re-arms) `key` for `at`. */
  set(key: K, at: number): void {
    this.live.set(key, at);
    this.heap.push({ at, key });
    this.up(this.heap.length - 1);
  }

  delete(key: K): void {
    this.live.delete(key);
  }

  has(key: K): boolean {
    return this.live.has(key);
  }

  /** The earliest live deadline, or undefined when nothing is armed. */
  next(): number | undefined {
    this.dropStale();
    return this.heap[0]?.at;
  }

  /** Removes and returns every key due at `now`, earliest first. */
  takeDue(now: number): K[] {
    const due: K[] = [];
    for (let top = this.next(); top !== undefined && top <= now; top = this.next()) {
      const { key } = this.pop();
      this.live.delete(key);
      due.push(key);
    }
    return due;
  }

  private dropStale(): void {
    while (this.heap.length > 0 && this.live.get(this.heap[0]!.key) !== this.heap[0]!.at) this.pop();
  }

  private pop(): Entry<K> {
    const top = this.heap[0]!;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.at <= h[i]!.at) return;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < h.length && h[l]!.at < h[min]!.at) min = l;
      if (r < h.length && h[r]!.at < h[min]!.at) min = r;
      if (min === i) return;
      [h[min], h[i]] = [h[i]!, h[min]!];
      i = min;
    }
  }
}

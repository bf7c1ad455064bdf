/**
 * A counting semaphore with a priority queue: at most `limit` holders at once; the others wait, lowest
 * priority number first and in arrival order among equals. A waiter whose signal aborts leaves the
 * queue at once, so work that was given up on never takes a slot later.
 */

export interface AcquireOptions {
  /** Lower goes first. @default 0 */
  readonly priority?: number;
  /** Gives up waiting when aborted: acquire rejects with the signal's reason. Callers pass on theirs, if any. */
  readonly signal?: AbortSignal | undefined;
}

/** Gives the slot back; calling it again does nothing. */
export type Release = () => void;

interface Waiter {
  readonly priority: number;
  readonly order: number;
  readonly grant: () => void;
}

export class ConcurrencyLimit {
  readonly limit: number;
  private active = 0;
  private highest = 0;
  private arrivals = 0;
  /** A binary min-heap on (priority, order). */
  private readonly queue: Waiter[] = [];

  constructor(limit: number, name = 'concurrency limit') {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`${name} must be a whole number of at least 1, got ${limit}`);
    }
    this.limit = limit;
  }

  /** Holders now. */
  get inFlight(): number {
    return this.active;
  }

  /** Waiters now. */
  get waiting(): number {
    return this.queue.length;
  }

  /** The most holders there ever were at once (never above the limit). */
  get peak(): number {
    return this.highest;
  }

  acquire(options: AcquireOptions = {}): Promise<Release> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.active < this.limit && this.queue.length === 0) return Promise.resolve(this.take());
    return new Promise<Release>((resolve, reject) => {
      let waiter: Waiter | undefined;
      const onAbort = () => {
        if (waiter && this.remove(waiter)) reject(signal?.reason);
      };
      waiter = {
        priority: options.priority ?? 0,
        order: this.arrivals++,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take());
        },
      };
      this.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs `task` in a slot and gives the slot back when it settles. */
  async run<T>(task: () => Promise<T>, options: AcquireOptions = {}): Promise<T> {
    const release = await this.acquire(options);
    try {
      return await task();
    } finally {
      release();
    }
  }

  private take(): Release {
    this.active += 1;
    if (this.active > this.highest) this.highest = this.active;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
      const next = this.pop();
      next?.grant();
    };
  }

  private push(waiter: Waiter): void {
    const heap = this.queue;
    heap.push(waiter);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index] as Waiter, heap[parent] as Waiter)) break;
      swap(heap, index, parent);
      index = parent;
    }
  }

  private pop(): Waiter | undefined {
    const heap = this.queue;
    const first = heap[0];
    const last = heap.pop();
    if (first === undefined || last === undefined || heap.length === 0) return first;
    heap[0] = last;
    this.siftDown(0);
    return first;
  }

  private remove(waiter: Waiter): boolean {
    const heap = this.queue;
    const index = heap.indexOf(waiter);
    if (index === -1) return false;
    const last = heap.pop() as Waiter;
    if (index < heap.length) {
      heap[index] = last;
      this.siftDown(index);
      // The moved element may also belong higher up.
      let at = index;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!before(heap[at] as Waiter, heap[parent] as Waiter)) break;
        swap(heap, at, parent);
        at = parent;
      }
    }
    return true;
  }

  private siftDown(start: number): void {
    const heap = this.queue;
    let index = start;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && before(heap[left] as Waiter, heap[smallest] as Waiter)) smallest = left;
      if (right < heap.length && before(heap[right] as Waiter, heap[smallest] as Waiter)) smallest = right;
      if (smallest === index) return;
      swap(heap, index, smallest);
      index = smallest;
    }
  }
}

function before(a: Waiter, b: Waiter): boolean {
  return a.priority < b.priority || (a.priority === b.priority && a.order < b.order);
}

function swap(heap: Waiter[], a: number, b: number): void {
  const held = heap[a] as Waiter;
  heap[a] = heap[b] as Waiter;
  heap[b] = held;
}

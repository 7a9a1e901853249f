// Plain-TypeScript reference for the core: lossy counting over string keys and an L1 table
// on a Map, as a JavaScript programmer would write them. The tests use it as a model and the
// benchmark as the baseline.
interface Entry {
  f: number;
  delta: number;
}

export class ReferenceLossyCounter {
  readonly width: number;
  readonly entries = new Map<string, Entry>();
  total = 0;
  private bucket = 1;

  constructor(
    readonly support: number,
    readonly epsilon: number,
  ) {
    this.width = Math.ceil(1 / epsilon);
  }

  observe(key: string, weight = 1): number {
    const before = this.total;
    this.total += weight;
    this.bucket = Math.max(1, Math.ceil(this.total / this.width));
    let e = this.entries.get(key);
    if (e) e.f += weight;
    else {
      e = { f: weight, delta: this.bucket - 1 };
      this.entries.set(key, e);
    }
    const completed = Math.floor(this.total / this.width);
    if (completed > Math.floor(before / this.width)) {
      for (const [k, v] of this.entries) if (v.f + v.delta <= completed) this.entries.delete(k);
    }
    return e.f;
  }

  isHot(f: number): boolean {
    return f > 0 && f >= (this.support - this.epsilon) * this.total;
  }

  report(): string[] {
    return [...this.entries].filter(([, e]) => this.isHot(e.f)).map(([k]) => k);
  }
}

export class ReferenceHotTable {
  readonly values = new Map<string, Uint8Array>();
  get(key: string): Uint8Array | undefined {
    return this.values.get(key);
  }
  put(key: string, reply: Uint8Array): void {
    this.values.set(key, reply);
  }
}

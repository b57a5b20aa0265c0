/** A small seeded generator (mulberry32), so a failing fuzz run can be replayed exactly. */
export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Pick by weight: `[[weight, value], …]`. */
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    const total = items.reduce((s, [w]) => s + w, 0);
    let x = this.next() * total;
    for (const [w, v] of items) {
      if ((x -= w) < 0) return v;
    }
    return items[items.length - 1][1];
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }

  /** A string mixing ASCII, control characters, non-BMP characters and lone surrogates. */
  text(maxLen = 40): string {
    const n = this.int(0, maxLen);
    let s = '';
    for (let i = 0; i < n; i++) {
      s += this.weighted<() => string>([
        [6, () => String.fromCharCode(this.int(0x20, 0x7e))],
        [1, () => String.fromCharCode(this.int(0, 0x1f))],
        [1, () => this.pick(['\u2028', '\u2029', '\ufeff', '\u0085', 'é', '日本', 'Ω', '\u202e'])],
        [1, () => this.pick(['😀', '\u{10ffff}', '𝕏'])],
        [1, () => String.fromCharCode(this.int(0xd800, 0xdfff))],
        [1, () => this.pick(['$(', '`', ';', '|', '&&', '\\', '"', "'", '<IDS|MSG>', '\u0000'])],
      ])();
    }
    return s;
  }

  /** A random JSON value, `depth` levels deep at most. */
  json(depth = 2): unknown {
    const leaf = (): unknown =>
      this.weighted<() => unknown>([
        [1, () => null],
        [1, () => this.bool()],
        [2, () => this.pick([0, -1, 1.5, 1e308, -1e-308, 2 ** 53 + 1, this.int(-1e6, 1e6)])],
        [3, () => this.text(20)],
      ])();
    if (depth <= 0) return leaf();
    return this.weighted<() => unknown>([
      [3, leaf],
      [1, () => Array.from({ length: this.int(0, 4) }, () => this.json(depth - 1))],
      [
        1,
        () => {
          const o: Record<string, unknown> = {};
          for (let i = this.int(0, 4); i > 0; i--) {
            // defineProperty: an own "__proto__" key, as JSON.parse makes it, not a prototype.
            const key = this.pick(['code', 'cursor_pos', 'a', '__proto__', 'constructor', this.text(8)]);
            Object.defineProperty(o, key, { value: this.json(depth - 1), enumerable: true, writable: true, configurable: true });
          }
          return o;
        },
      ],
    ])();
  }
}

/** The generator as a plain function of floats in [0, 1), for tests that need only that. */
export function seededRandom(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

// BPF objects, their programs and their maps, with typed views of the maps.
import { native, type NativeMap, type NativeProgram } from "./native.js";
import { wrap, LibbpfError } from "./errors.js";
import type { Codec } from "./codecs.js";

// Map types whose lookups return one value per possible CPU.
const PER_CPU_TYPES = new Set([5, 6, 10, 21]); // PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH, PERCPU_CGROUP_STORAGE

export const MapUpdate = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;

export class BpfProgram {
  constructor(
    private readonly raw: NativeProgram,
    private readonly fdOf: () => number,
  ) {}
  get name(): string {
    return this.raw.name;
  }
  get section(): string {
    return this.raw.section;
  }
  /** The program's fd; valid once its object is loaded. */
  get fd(): number {
    const fd = this.fdOf();
    if (fd < 0) throw new LibbpfError(`program ${this.name}: not loaded (call load() first)`, 9);
    return fd;
  }
}

export class BpfMap {
  readonly perCpu: boolean;
  private readonly cpus: number;

  constructor(private readonly raw: NativeMap) {
    this.perCpu = PER_CPU_TYPES.has(raw.type);
    this.cpus = this.perCpu ? native().possibleCpus() : 1;
  }
  get name(): string {
    return this.raw.name;
  }
  get fd(): number {
    return this.raw.fd;
  }
  get type(): number {
    return this.raw.type;
  }
  get keySize(): number {
    return this.raw.keySize;
  }
  get valueSize(): number {
    return this.raw.valueSize;
  }
  get maxEntries(): number {
    return this.raw.maxEntries;
  }
  /** Bytes a lookup returns: one value, or one 8-byte-aligned value per possible CPU. */
  private get lookupBytes(): number {
    return this.perCpu ? Math.ceil(this.valueSize / 8) * 8 * this.cpus : this.valueSize;
  }

  private checkKey(key: Uint8Array): void {
    if (key.length !== this.keySize) {
      throw new LibbpfError(`map ${this.name}: key of ${key.length} bytes, the map's keys have ${this.keySize}`, 22);
    }
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    return wrap(`map ${this.name}`, () => native().mapLookup(this.fd, key, this.lookupBytes));
  }

  /** Per-CPU maps: each CPU's value. */
  getPerCpu(key: Uint8Array): Uint8Array[] {
    const all = this.get(key);
    if (!all) return [];
    const stride = this.perCpu ? Math.ceil(this.valueSize / 8) * 8 : this.valueSize;
    return Array.from({ length: this.cpus }, (_, i) => all.subarray(i * stride, i * stride + this.valueSize));
  }

  set(key: Uint8Array, value: Uint8Array, flags: number = MapUpdate.ANY): void {
    this.checkKey(key);
    const want = this.lookupBytes;
    let bytes = value;
    if (this.perCpu && value.length === this.valueSize) {
      bytes = new Uint8Array(want);
      for (let i = 0; i < this.cpus; i++) bytes.set(value, i * Math.ceil(this.valueSize / 8) * 8);
    }
    if (bytes.length !== want) {
      throw new LibbpfError(
        `map ${this.name}: value of ${value.length} bytes, the map's values have ${this.valueSize}`,
        22,
      );
    }
    wrap(`map ${this.name}`, () => native().mapUpdate(this.fd, key, bytes, flags));
  }

  /** True when the key was there. */
  delete(key: Uint8Array): boolean {
    this.checkKey(key);
    return wrap(`map ${this.name}`, () => native().mapDelete(this.fd, key));
  }

  *keys(): Generator<Uint8Array> {
    let key: Uint8Array | null = null;
    for (;;) {
      const prev: Uint8Array | null = key;
      const next: Uint8Array | undefined = wrap(`map ${this.name}`, () =>
        native().mapNextKey(this.fd, prev, this.keySize),
      );
      if (!next) return;
      yield next;
      key = next;
    }
  }

  typed<K, V>(key: Codec<K>, value: Codec<V>): TypedMap<K, V> {
    if (key.bytes !== this.keySize || value.bytes !== this.valueSize) {
      throw new LibbpfError(
        `map ${this.name}: codecs of ${key.bytes}/${value.bytes} bytes for keys/values of ${this.keySize}/${this.valueSize}`,
        22,
      );
    }
    return new TypedMap(this, key, value);
  }
}

export class TypedMap<K, V> {
  constructor(
    readonly map: BpfMap,
    private readonly key: Codec<K>,
    private readonly value: Codec<V>,
  ) {}

  get(k: K): V | undefined {
    const v = this.map.get(this.key.encode(k));
    return v && this.value.decode(v.subarray(0, this.value.bytes));
  }
  getPerCpu(k: K): V[] {
    return this.map.getPerCpu(this.key.encode(k)).map((v) => this.value.decode(v));
  }
  set(k: K, v: V, flags: number = MapUpdate.ANY): void {
    this.map.set(this.key.encode(k), this.value.encode(v), flags);
  }
  delete(k: K): boolean {
    return this.map.delete(this.key.encode(k));
  }
  *keys(): Generator<K> {
    for (const k of this.map.keys()) yield this.key.decode(k);
  }
  *entries(): Generator<[K, V]> {
    for (const k of this.map.keys()) {
      const v = this.map.get(k);
      if (v) yield [this.key.decode(k), this.value.decode(v.subarray(0, this.value.bytes))];
    }
  }
}

export class BpfObject {
  private readonly id: number;
  private loaded = false;
  private closed = false;

  private constructor(
    readonly path: string,
    id: number,
  ) {
    this.id = id;
  }

  static open(path: string): BpfObject {
    return new BpfObject(
      path,
      wrap(path, () => native().objectOpen(path)),
    );
  }

  /** Loads every program through the verifier and creates the maps. */
  load(): this {
    wrap(this.path, () => native().objectLoad(this.id));
    this.loaded = true;
    return this;
  }

  get programs(): BpfProgram[] {
    return native()
      .objectPrograms(this.id)
      .map(
        (p) =>
          new BpfProgram(
            p,
            () =>
              native()
                .objectPrograms(this.id)
                .find((q) => q.name === p.name)?.fd ?? -1,
          ),
      );
  }

  program(name: string): BpfProgram {
    const p = this.programs.find((x) => x.name === name);
    if (!p) throw new LibbpfError(`${this.path}: no program named ${name}`, 2);
    return p;
  }

  map(name: string): BpfMap {
    if (!this.loaded) throw new LibbpfError(`${this.path}: load() the object before using map ${name}`, 9);
    const m = native()
      .objectMaps(this.id)
      .find((x) => x.name === name);
    if (!m) throw new LibbpfError(`${this.path}: no map named ${name}`, 2);
    return new BpfMap(m);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    native().objectClose(this.id);
  }
}

// The addon's raw surface (addon.cc), loaded once. Everything here is untyped bytes and fds;
// the other modules give it meaning.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface NativeProgram {
  name: string;
  section: string;
  fd: number;
}

export interface NativeMap {
  name: string;
  fd: number;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export interface Native {
  objectOpen(path: string): number;
  objectLoad(id: number): void;
  objectClose(id: number): void;
  objectPrograms(id: number): NativeProgram[];
  objectMaps(id: number): NativeMap[];
  mapLookup(fd: number, key: Uint8Array, valueBytes: number): Uint8Array | undefined;
  mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags: number): void;
  mapDelete(fd: number, key: Uint8Array): boolean;
  mapNextKey(fd: number, key: Uint8Array | null, keyBytes: number): Uint8Array | undefined;
  progTestRun(fd: number, frame: Uint8Array, repeat: number): { retval: number; data: Uint8Array; durationNs: number };
  xdpAttach(ifindex: number, progFd: number, flags: number, expectedId: number): void;
  xdpDetach(ifindex: number, flags: number): void;
  xdpQuery(ifindex: number): { mode: number; driver: number; generic: number; offload: number };
  progInfo(id: number): { id: number; name: string; type: number };
  progMaps(id: number): NativeMap[];
  closeFd(fd: number): void;
  ifIndex(name: string): number;
  possibleCpus(): number;
}

const here = dirname(fileURLToPath(import.meta.url));
const addonPath = join(here, "..", "build", "Release", "bpf_addon.node");

let loaded: Native | undefined;

export function native(): Native {
  if (!loaded) {
    if (!existsSync(addonPath)) {
      throw new Error(`libbpf-ts: the addon is not built (${addonPath}); run: npm run build -w libbpf-ts`);
    }
    loaded = createRequire(import.meta.url)(addonPath) as Native;
  }
  return loaded;
}

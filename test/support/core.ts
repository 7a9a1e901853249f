// Loads cores for tests from one compiled module.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadCore, defaultModulePath } from "../../host/core/loader.js";
import { projectRoot } from "../../host/util/paths.js";
import type { CoreConfig } from "../../host/core/config.js";
import type { Core } from "../../host/core/core.js";

const bytes = readFileSync(defaultModulePath);

export function makeCore(config: Partial<CoreConfig> = {}, hostBytes = 0): Promise<Core> {
  return loadCore({ module: bytes, config, hostBytes });
}

/** The detector modules (asconfig.json's targets), by name. */
export const detectorModules = {
  lossy: defaultModulePath,
  weighted: join(projectRoot(), "build/modules/weighted.wasm"),
  "space-saving": join(projectRoot(), "build/modules/space-saving.wasm"),
  "count-min": join(projectRoot(), "build/modules/count-min.wasm"),
} as const;

const moduleBytes = new Map<string, Uint8Array>();

/** A core built with another detector module. */
export function makeCoreWith(
  module: keyof typeof detectorModules,
  config: Partial<CoreConfig> = {},
  hostBytes = 0,
): Promise<Core> {
  const path = detectorModules[module];
  let b = moduleBytes.get(path);
  if (!b) moduleBytes.set(path, (b = readFileSync(path)));
  return loadCore({ module: b, config, hostBytes });
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

export function valueBlock(key: string, data: string, flags = 0): Uint8Array {
  return text(`VALUE ${key} ${flags} ${data.length}\r\n${data}\r\n`);
}

/** Exact counts of a stream: the ground truth the guarantees are stated against. */
export function exactCounts(keys: readonly string[], weights?: readonly number[]): Map<string, number> {
  const m = new Map<string, number>();
  keys.forEach((k, i) => m.set(k, (m.get(k) ?? 0) + (weights?.[i] ?? 1)));
  return m;
}

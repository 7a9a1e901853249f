// Loads cores for tests from one compiled module.
import { readFileSync } from "node:fs";
import { loadCore, defaultModulePath, detectorModulePaths } from "../../host/core/loader.js";
import type { CoreConfig } from "../../host/core/config.js";
import type { InspectableCore as Core } from "../../host/core/inspectable-core.js";

const bytes = readFileSync(defaultModulePath);

export function makeCore(config: Partial<CoreConfig> = {}, hostBytes = 0): Promise<Core> {
  return loadCore({ module: bytes, config, hostBytes });
}

export const detectorModules = detectorModulePaths;

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

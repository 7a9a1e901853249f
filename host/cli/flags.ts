// Numeric command-line flags, checked with one sentence for the operator when they are wrong.
import { ConfigError } from "../errors.js";

export const whole = (n: number): boolean => Number.isInteger(n) && n >= 1;

export function numberFlag(
  name: string,
  raw: string | undefined,
  fallback: number,
  check: (n: number) => boolean,
): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || !check(n)) throw new ConfigError(`--${name} ${raw}: not a valid value (see kvlb --help)`);
  return n;
}

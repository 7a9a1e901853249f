// A load run's progress: redrawn in place on a terminal, a line per report otherwise.
import { count } from "../util/table.js";

export function progressPrinter(
  label: string,
  seconds: number,
): (p: { ops: number; elapsed: number; timeouts: number }) => void {
  const tty = process.stdout.isTTY;
  const of = Number.isFinite(seconds) ? ` of ${seconds}` : "";
  return (p) => {
    const line =
      `  ${label}${p.elapsed.toFixed(0).padStart(4)} s${of}  ${count(p.ops).padStart(10)} ops  ` +
      `${count(p.ops / p.elapsed).padStart(8)} ops/s  ${count(p.timeouts)} timeouts`;
    process.stdout.write(tty ? `\r${line}` : `${line}\n`);
  };
}

/** Ends an in-place progress line. */
export function progressDone(): void {
  if (process.stdout.isTTY) process.stdout.write("\n");
}

// The one logger: JSON lines, pretty only when a person reads the terminal.
import { pino, type Logger } from "pino";
import pretty from "pino-pretty";

export function createLogger(name = "kvlb"): Logger {
  const level = process.env["KVLB_LOG"] ?? "info";
  if (process.stderr.isTTY) {
    return pino({ name, level }, pretty({ destination: 2, sync: true, colorize: true, ignore: "pid,hostname" }));
  }
  return pino({ name, level }, pino.destination({ dest: 2, sync: true }));
}

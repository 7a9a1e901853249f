// The control plane's handle on a running balancer: it starts the data-path worker, keeps the
// latest stats it reports, and stops it.
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { projectRoot } from "../util/paths.js";
import type {
  WorkerSetup,
  WorkerReport,
  StatsReport,
  ToWorker,
  CoreShape,
  ProbeAnswer,
  ReloadMessage,
} from "../worker/messages.js";
import type { ModuleInfo, PreparedModule } from "../core/swap.js";
import { KvlbError } from "../errors.js";

/** The module a worker runs, and its history. */
export interface WorkerModule {
  info: ModuleInfo;
  /** When the last swap took effect (ISO time); absent for the module it started with. */
  swappedAt?: string;
  swaps: number;
  /** Bursts that trapped and sent the worker back to the module before. */
  traps: number;
  /** The pause each swap caused, in µs, newest last (at most 100). */
  pausesUs: number[];
}

export type SwapOutcome = { ok: true; pauseUs: number } | { ok: false; error: string };
export type ReloadOutcome = { ok: true; points: number } | { ok: false; error: string };

const SWAP_TIMEOUT_MS = 10_000;
const PAUSES_KEPT = 100;

export interface Balancer {
  ports: { listen: number; backend: number };
  /** The AF_XDP sockets, one per port, for the XDP program's xsks_map. */
  xskFds: number[];
  /** A control message, applied by the worker between bursts. */
  send(message: ToWorker): void;
  setup: WorkerSetup;
  /** The newest stats, at most half a second old. */
  latest(): StatsReport | undefined;
  /** Waits for the next report, so that it includes everything sent before the call. */
  fresh(): Promise<StatsReport>;
  stop(): Promise<void>;
  /** Resolves with an error message if the worker dies. */
  failed: Promise<string>;
  /** What a module must fit to replace the running one. */
  shape: CoreShape;
  /** Each worker's module. */
  modules(): WorkerModule[];
  /** Has every worker swap to `next` between bursts; one outcome per worker. */
  swap(next: PreparedModule): Promise<SwapOutcome[]>;
  /** Calls `listener` when a worker's burst traps and it goes back to the module before. */
  onTrap(listener: (worker: number, error: string, now: ModuleInfo) => void): void;
  /** Calls `listener` with each answer to a probe a core sent (ports no kernel serves). */
  onProbeAnswer(listener: (answer: ProbeAnswer) => void): void;
  /** Has the worker take a reload between bursts; `setup` follows. */
  reload(m: ReloadMessage): Promise<ReloadOutcome>;
}

/**
 * Resolves with why the balancer should stop: SIGINT, SIGTERM, its worker failing, or an error
 * nothing caught (the caller then stops as for a signal, and takes its XDP programs off).
 */
export function untilStopped(balancer: Balancer): Promise<string> {
  return new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("uncaughtException", (e) => resolve(`failed: uncaught error: ${e.message}`));
    process.once("unhandledRejection", (e) => resolve(`failed: unhandled rejection: ${String(e)}`));
    void balancer.failed.then((m) => resolve(`failed: worker failed: ${m}`));
  });
}

/**
 * Posts a request to a worker and waits for its answer, which the message handler gives to the
 * settle function `wait` is handed; or, after SWAP_TIMEOUT_MS, says the worker did not answer.
 */
function answer<T extends { ok: boolean }>(
  post: () => void,
  wait: (settle: ((o: T) => void) | undefined) => void,
): Promise<T | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      wait(undefined);
      resolve({ ok: false, error: `no answer from the worker in ${SWAP_TIMEOUT_MS / 1000} s` });
    }, SWAP_TIMEOUT_MS);
    wait((o) => {
      clearTimeout(timer);
      resolve(o);
    });
    post();
  });
}

const workerPath = (setup: WorkerSetup): string =>
  join(
    projectRoot(),
    "dist/host/worker",
    setup.dpdk ? "dpdk-worker.js" : setup.afxdp ? "afxdp-worker.js" : "socket-worker.js",
  );

export function startBalancer(setup: WorkerSetup): Promise<Balancer> {
  const path = workerPath(setup);
  if (!existsSync(path))
    return Promise.reject(new KvlbError("KVLB_NOT_BUILT", "kvlb is not built (run: bash scripts/setup)"));
  const worker = new Worker(path, { workerData: setup });
  let latest: StatsReport | undefined;
  const waiting: ((r: StatsReport) => void)[] = [];
  let failWith: (m: string) => void = () => undefined;
  const failed = new Promise<string>((resolve) => (failWith = resolve));
  let stopped: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  let mod: WorkerModule | undefined;
  let before: ModuleInfo | undefined; // the module a trap sends the worker back to
  let swapped: ((o: SwapOutcome) => void) | undefined;
  let reloaded: ((o: ReloadOutcome) => void) | undefined;
  const trapListeners: ((worker: number, error: string, now: ModuleInfo) => void)[] = [];
  const probeListeners: ((answer: ProbeAnswer) => void)[] = [];
  return new Promise((resolve, reject) => {
    let ready = false;
    worker.on("message", (m: WorkerReport) => {
      if (m.type === "ready") {
        ready = true;
        mod = { info: m.module, swaps: 0, traps: 0, pausesUs: [] };
        const current = mod;
        resolve({
          ports: m.ports,
          xskFds: m.xskFds ?? [],
          send: (message) => worker.postMessage(message),
          setup,
          latest: () => latest,
          fresh: () => new Promise((r) => waiting.push(r)),
          stop: async () => {
            worker.postMessage({ type: "stop" } satisfies ToWorker);
            await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
            await worker.terminate();
          },
          failed,
          shape: m.shape,
          modules: () => [current],
          onTrap: (listener) => trapListeners.push(listener),
          onProbeAnswer: (listener) => probeListeners.push(listener),
          reload: (message) =>
            answer<ReloadOutcome>(
              () => worker.postMessage(message satisfies ToWorker),
              (settle) => (reloaded = settle),
            ).then((o) => {
              if (o.ok) {
                setup.backends = message.slots;
                setup.core = { ...setup.core, ...message.live };
                if (message.clients) setup.clients = message.clients;
              }
              return o;
            }),
          swap: (next) =>
            answer<SwapOutcome>(
              () => worker.postMessage({ type: "swap", module: next.module, info: next.info } satisfies ToWorker),
              (settle) => (swapped = settle),
            ).then((o) => [o]),
        });
      } else if (m.type === "stats") {
        latest = m;
        waiting.splice(0).forEach((r) => r(m));
      } else if (m.type === "error") {
        if (!ready) reject(m.code ? new KvlbError(m.code, m.message) : new Error(m.message));
        else failWith(m.message);
      } else if (m.type === "swapped" && mod) {
        if (m.ok) {
          before = mod.info;
          mod.info = m.info;
          mod.swappedAt = new Date().toISOString();
          mod.swaps++;
          mod.pausesUs = [...mod.pausesUs.slice(1 - PAUSES_KEPT), m.pauseNs / 1000];
        }
        const settle = swapped;
        swapped = undefined;
        settle?.(m.ok ? { ok: true, pauseUs: m.pauseNs / 1000 } : { ok: false, error: m.error });
      } else if (m.type === "trapped" && mod) {
        mod.traps++;
        if (before) mod.info = before;
        before = undefined;
        const now = mod.info;
        trapListeners.forEach((l) => l(0, m.error, now));
      } else if (m.type === "reloaded") {
        const settle = reloaded;
        reloaded = undefined;
        settle?.(m.ok ? { ok: true, points: m.points } : { ok: false, error: m.error });
      } else if (m.type === "probe-answer") {
        probeListeners.forEach((l) => l(m));
      } else if (m.type === "stopped") {
        stopped();
      }
    });
    worker.on("error", (e) => (ready ? failWith(e.message) : reject(e)));
    worker.on("exit", () => {
      stopped();
      if (!ready) reject(new Error("the data-path worker exited before it was ready"));
    });
  });
}

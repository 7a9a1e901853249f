// What /stats, /metrics and kvlb stats say of reloads: how many were applied and refused, and
// the last one.
export interface ReloadStatus {
  applied: number;
  refused: number;
  /** The migration the last reload that moved keys opened. */
  migration?: MigrationProgress;
  last?: {
    /** ISO time. */
    at: string;
    ok: boolean;
    /** Its first line: the summary, or why it was refused. */
    line: string;
  };
}

/** A live migration's ranges and its mover's progress (docs/balancer.md, Live migration). */
export interface MigrationProgress {
  /** The ranges of the key space whose owner changed, and their share of it. */
  ranges: number;
  share: number;
  mover: MoverProgress;
}

export interface MoverProgress {
  /** off: copiesPerSecond 0 (hot keys alone); listing: asking the servers for their keys;
   * copying: handing moved keys to the workers; done: every one handed over, the window closed;
   * stopped: the window's time ran out, another reload came, or a server could not list. */
  state: "off" | "listing" | "copying" | "done" | "stopped";
  /** Servers whose keys were listed, of the ring's servers before the reload. */
  serversListed: number;
  servers: number;
  /** Moved keys found on them, and handed to the workers to copy so far. */
  keysFound: number;
  keysHanded: number;
}

// What /stats, /metrics and kvlb stats say of reloads: how many were applied and refused, and
// the last one.
export interface ReloadStatus {
  applied: number;
  refused: number;
  last?: {
    /** ISO time. */
    at: string;
    ok: boolean;
    /** Its first line: the summary, or why it was refused. */
    line: string;
  };
}

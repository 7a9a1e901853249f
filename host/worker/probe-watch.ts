// Where the core sends the health checker's probes (ports no kernel serves), the worker passes
// each new answer on to the control plane. It looks once per tick, a load per backend, and posts
// a message only when an answer came.
import type { Core } from "../core/core.js";
import { coreProbeAnswer, probeAnswers } from "../core/backends.js";
import type { ProbeAnswer } from "./messages.js";

export class ProbeWatch {
  private readonly seen: number[] = [];

  /** `count`: the backends' entries now (a reload may add some). */
  constructor(
    private readonly core: Core,
    private readonly count: () => number,
  ) {}

  check(post: (answer: ProbeAnswer) => void): void {
    for (let b = 0; b < this.count(); b++) {
      const n = probeAnswers(this.core, b);
      if (this.seen[b] === undefined) this.seen[b] = n; // answers before it was watched are old news
      if (n === this.seen[b]) continue;
      this.seen[b] = n;
      const { pid, uptime, cmdFlush } = coreProbeAnswer(this.core, b);
      post({ type: "probe-answer", backend: b, pid, uptime, cmdFlush });
    }
  }
}

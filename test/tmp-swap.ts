import { startCluster } from "./support/cluster.js";
import { faultModule } from "./support/fault-modules.js";
const cluster = await startCluster(27500, 1);
const module = faultModule("send");
try {
  for (let i = 0; i < 6; i++) {
    const base = `http://127.0.0.1:${cluster.adminPort}`;
    try {
      const r = await fetch(`${base}/module?name=send.wasm`, { method: "POST", body: Buffer.from(module) });
      console.log(i, r.status, (await r.text()).slice(0, 200));
      await fetch(`${base}/module/rollback`, { method: "POST" });
    } catch (e) {
      console.log(i, "error", (e as Error).message, String((e as { cause?: unknown }).cause));
      console.log(cluster.output().slice(-2000));
      break;
    }
  }
} finally { await cluster.stop(); }

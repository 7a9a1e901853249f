// Run inside a test's client namespace (ip netns exec): the consistency workload against
// HOST:PORT, printed as JSON (counts and the first violations).
import { runHistoryLoad, type HistoryLoad } from "./history-load.js";

const [host = "", portText = "", loadJson = "{}"] = process.argv.slice(2);
const r = await runHistoryLoad(Number(portText), host, JSON.parse(loadJson) as HistoryLoad);
console.log(JSON.stringify({ ...r, violations: r.violations.slice(0, 5), violationCount: r.violations.length }));

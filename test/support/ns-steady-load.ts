// Run inside a test's client namespace (ip netns exec): the steady get load against HOST:PORT
// (the hot keys set first) until SIGTERM, then its counts as JSON.
import { preloadSteadyKeys, startSteadyLoad } from "./steady-load.js";

const [host = "", portText = ""] = process.argv.slice(2);
const port = Number(portText);
await preloadSteadyKeys(port, host);
const load = startSteadyLoad(port, host);
process.once("SIGTERM", () => load.stop());
console.log("loading"); // the test starts its swaps once it sees this
console.log(JSON.stringify(await load.done));

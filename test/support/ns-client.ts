// Run inside a test's client namespace (ip netns exec): sends memcached requests over UDP to
// HOST:PORT one after another and prints the replies as JSON, one string per request. A
// request "tcp:PORT" opens a TCP connection to HOST:PORT instead and reports what it read;
// "tcp:PORT:TEXT" sends TEXT on it first and closes its side.
import { connect } from "node:net";
import { UdpClient } from "./udp-client.js";

const [host = "", portText = "", requestsJson = "[]"] = process.argv.slice(2);
const requests = JSON.parse(requestsJson) as string[];

function tcp(port: number, send?: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 2000 });
    if (send !== undefined) s.end(send);
    let got = "";
    s.on("data", (d) => (got += d.toString()));
    s.on("end", () => resolve(`tcp ok: ${got}`));
    s.on("timeout", () => {
      s.destroy();
      resolve("tcp timeout");
    });
    s.on("error", (e) => resolve(`tcp error: ${e.message}`));
  });
}

const client = new UdpClient(Number(portText), host);
const out: string[] = [];
for (const r of requests) {
  const m = /^tcp:(\d+)(?::([\s\S]*))?$/.exec(r);
  if (m) out.push(await tcp(Number(m[1]), m[2]));
  else out.push(await client.text(r));
}
client.close();
console.log(JSON.stringify(out));

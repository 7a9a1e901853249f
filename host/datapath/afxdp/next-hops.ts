// Next hops for the core's frame layer, from the kernel's routes and neighbour table: each
// backend's MAC (or its gateway's) and port, plus every neighbour already known on the
// attached interfaces. A backend the kernel has not resolved yet is reached through the
// socket path, which makes the kernel resolve it; the next refresh then finds it.
import { kernelNeighbours, routeTo } from "./interfaces.js";
import { macBytes, type Neighbour } from "../../core/frame-tables.js";

export function nextHops(devs: readonly string[], backends: readonly string[]): Neighbour[] {
  const known = kernelNeighbours(devs);
  const port = (dev: string): number => devs.indexOf(dev);
  const byAddress = new Map(known.map((n) => [`${n.dev}/${n.address}`, n]));
  const out: Neighbour[] = known.map((n) => ({ address: n.address, mac: macBytes(n.mac), port: port(n.dev) }));
  for (const b of backends) {
    const route = routeTo(b);
    if (!route || port(route.dev) < 0 || !route.via) continue; // on-link ones are in `known`
    const gw = byAddress.get(`${route.dev}/${route.via}`);
    if (gw) out.push({ address: b, mac: macBytes(gw.mac), port: port(route.dev) });
  }
  return out;
}

/** A stable text form, to tell whether anything changed since the last refresh. */
export function nextHopsKey(list: readonly Neighbour[]): string {
  return list
    .map((n) => `${n.address}@${n.port}=${[...n.mac].join(".")}`)
    .sort()
    .join(",");
}

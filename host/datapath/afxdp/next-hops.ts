// Next hops for the core's frame layer, from the kernel's routes and neighbour table: each
// backend's MAC (or its gateway's) and port, plus every neighbour already known on the
// attached interfaces. A backend the kernel has not resolved yet is reached through the
// socket path, which makes the kernel resolve it; the next refresh then finds it.
import {
  kernelNeighbours,
  kernelNeighboursAsync,
  routeTo,
  routeToAsync,
  type KernelNeighbour,
  type Route,
} from "./interfaces.js";
import { macBytes, type Neighbour } from "../../core/frame-tables.js";

/** Read once, at startup: a failure is the operator's error. */
export function nextHops(devs: readonly string[], backends: readonly string[]): Neighbour[] {
  return combine(devs, backends, kernelNeighbours(devs), new Map(backends.map((b) => [b, routeTo(b)])));
}

/** Read while kvlb runs, without blocking the control plane; a failure rejects, to be retried. */
export async function nextHopsAsync(devs: readonly string[], backends: readonly string[]): Promise<Neighbour[]> {
  const known = await kernelNeighboursAsync(devs);
  const routes = await Promise.all(backends.map(async (b) => [b, await routeToAsync(b)] as const));
  return combine(devs, backends, known, new Map(routes));
}

function combine(
  devs: readonly string[],
  backends: readonly string[],
  known: readonly KernelNeighbour[],
  routes: ReadonlyMap<string, Route | undefined>,
): Neighbour[] {
  const port = (dev: string): number => devs.indexOf(dev);
  const byAddress = new Map(known.map((n) => [`${n.dev}/${n.address}`, n]));
  const out: Neighbour[] = known.map((n) => ({ address: n.address, mac: macBytes(n.mac), port: port(n.dev) }));
  for (const b of backends) {
    const route = routes.get(b);
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

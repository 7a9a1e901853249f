import test from "ava";
import { readFileSync } from "node:fs";
import { blocks, portBase, BLOCK_PORTS } from "../support/ports.js";

test("every test file's port block lies below the kernel's ephemeral port range", (t) => {
  const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  const last = portBase(blocks[blocks.length - 1] ?? blocks[0]) + BLOCK_PORTS - 1;
  t.true(last < (low ?? 0), `the last block ends at ${last}; ephemeral ports start at ${low}`);
});

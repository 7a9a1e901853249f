// IP addresses as the bytes a packet carries.
export function ipv4Bytes(address: string): number[] {
  return address.split(".").map(Number);
}

export function ipv6Bytes(address: string): number[] {
  const [head = "", tail = ""] = address.split("::");
  const part = (s: string): number[] => (s === "" ? [] : s.split(":").map((h) => parseInt(h, 16)));
  const a = part(head);
  const b = part(tail);
  const groups = address.includes("::") ? [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b] : a;
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

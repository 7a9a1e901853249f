// The wire headers the frame layer reads and writes: Ethernet (with one 802.1Q tag), IPv4, UDP
// and ARP for IPv4 over Ethernet, as byte offsets from each header's start. Multi-byte fields
// are big-endian on the wire.
export const ETH_DST: usize = 0;
export const ETH_SRC: usize = 6;
export const ETH_TYPE: usize = 12;
export const ETH_HLEN: usize = 14;
export const VLAN_TCI: usize = 14; // in a tagged frame, after the outer type
export const VLAN_TYPE: usize = 16; // the inner type
export const VLAN_HLEN: usize = 18;
export const MAC_LEN: usize = 6;

export const ETHERTYPE_IPV4: u32 = 0x0800;
export const ETHERTYPE_ARP: u32 = 0x0806;
export const ETHERTYPE_VLAN: u32 = 0x8100;
export const ETHERTYPE_QINQ: u32 = 0x88a8;
export const ETHERTYPE_IPV6: u32 = 0x86dd;

export const IP_VIHL: usize = 0;
export const IP_TOS: usize = 1;
export const IP_TOTAL_LEN: usize = 2;
export const IP_ID: usize = 4;
export const IP_FRAG: usize = 6;
export const IP_TTL: usize = 8;
export const IP_PROTO: usize = 9;
export const IP_CHECK: usize = 10;
export const IP_SRC: usize = 12;
export const IP_DST: usize = 16;
export const IP_HLEN: usize = 20; // without options; kvlb writes none
export const IPPROTO_UDP: u32 = 17;

export const UDP_SPORT: usize = 0;
export const UDP_DPORT: usize = 2;
export const UDP_LEN: usize = 4;
export const UDP_CHECK: usize = 6;
export const UDP_HLEN: usize = 8;

export const ARP_HTYPE: usize = 0;
export const ARP_PTYPE: usize = 2;
export const ARP_HLEN: usize = 4;
export const ARP_PLEN: usize = 5;
export const ARP_OP: usize = 6;
export const ARP_SHA: usize = 8;
export const ARP_SPA: usize = 14;
export const ARP_THA: usize = 18;
export const ARP_TPA: usize = 24;
export const ARP_BYTES: usize = 28;
export const ARP_HW_ETHERNET: u32 = 1;

export const FRAME_MIN: usize = 60; // Ethernet's minimum, without the FCS

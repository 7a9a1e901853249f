/* Layouts that kvlb.bpf.c and kvlb's host both read: the verdict counters and the keys of the
 * configuration maps. host/xdp/layout.ts mirrors this file; test/xdp/layout.test.ts checks it. */
#ifndef KVLB_XDP_H
#define KVLB_XDP_H

#include <linux/types.h>

/* Index into the per-CPU `counters` array: one per verdict and reason. */
enum kvlb_counter {
	KVLB_REDIRECT_REQUEST = 0, /* UDP to a memcached port, into the AF_XDP socket */
	KVLB_REDIRECT_REPLY = 1, /* UDP from a configured backend, into the AF_XDP socket */
	KVLB_PASS_NO_SOCKET = 2, /* ours, but no socket is bound on this rx queue */
	KVLB_PASS_NOT_IP = 3, /* ARP, LLDP, anything but IPv4/IPv6 */
	KVLB_PASS_NOT_UDP = 4, /* TCP, ICMP, ... */
	KVLB_PASS_FRAGMENT = 5, /* IPv4 or IPv6 fragments: the kernel reassembles them */
	KVLB_PASS_OTHER_PORT = 6, /* UDP that is neither to a memcached port nor from a backend */
	KVLB_PASS_TRUNCATED = 7, /* shorter than its headers say */
	KVLB_PASS_MALFORMED = 8, /* bad IP version, header length or UDP length */
	KVLB_PASS_IPV6_EXT = 9, /* IPv6 extension headers kvlb does not walk */
	KVLB_COUNTERS = 10,
};

/* A backend as the reply path matches it: source address and port of a reply. */
struct kvlb_endpoint {
	__u8 addr[16]; /* IPv4 in the first 4 bytes, the rest zero */
	__u16 port; /* network byte order */
	__u8 family; /* 4 or 6 */
	__u8 pad;
};

/* The value of a `ports` entry: which families are steered to that port, and whether it is the
 * port kvlb's requests to the backends leave from (their replies are kvlb's; a backend's answer
 * to any other port on this host, kvlb's own health probes among them, is the kernel's). */
#define KVLB_PORT_V4 1
#define KVLB_PORT_V6 2
#define KVLB_PORT_REPLY 4

/* The names the host finds the maps and programs by: the C names in kvlb.bpf.c, which the
 * host mirrors in host/xdp/layout.ts (test/xdp/layout.test.ts checks both against the object). */
#define KVLB_MAP_XSKS "xsks_map"
#define KVLB_MAP_PORTS "ports"
#define KVLB_MAP_BACKENDS "backends"
#define KVLB_MAP_COUNTERS "counters"
#define KVLB_PROG_STEER "kvlb_steer"
#define KVLB_PROG_PASS "kvlb_pass"

#define KVLB_MAX_PORTS 64
#define KVLB_MAX_BACKENDS 256
#define KVLB_MAX_QUEUES 64

#endif

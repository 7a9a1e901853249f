// SPDX-License-Identifier: GPL-2.0
/* kvlb's steering program: memcached UDP (to a configured port, or back from a configured
 * backend) goes to the AF_XDP socket of its rx queue; everything else passes to the kernel
 * untouched. Only helpers from Linux 6.1 or older. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "kvlb.h"

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, KVLB_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

/* Destination ports (network byte order) that are memcached requests; the value is a mask of
 * KVLB_PORT_V4 and KVLB_PORT_V6. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVLB_MAX_PORTS);
	__type(key, __u16);
	__type(value, __u8);
} ports SEC(".maps");

/* Backends whose replies come back through kvlb. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KVLB_MAX_BACKENDS);
	__type(key, struct kvlb_endpoint);
	__type(value, __u8);
} backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KVLB_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

static __always_inline int count(__u32 reason, int verdict)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &reason);

	if (c)
		*c += 1;
	return verdict;
}

/* The UDP header at l4: a request to one of our ports, or a reply from a backend (whose address
 * the caller has put in ep) to the port kvlb's requests leave from. */
static __always_inline int steer(struct xdp_md *ctx, struct udphdr *udp, void *data_end,
				 struct kvlb_endpoint *ep)
{
	__u8 family = ep->family == 4 ? KVLB_PORT_V4 : KVLB_PORT_V6;
	__u32 reason;
	__u8 *steered;
	int verdict;

	if ((void *)(udp + 1) > data_end)
		return count(KVLB_PASS_TRUNCATED, XDP_PASS);
	if (bpf_ntohs(udp->len) < sizeof(*udp))
		return count(KVLB_PASS_MALFORMED, XDP_PASS);
	steered = bpf_map_lookup_elem(&ports, &udp->dest);
	if (steered && (*steered & family)) {
		reason = KVLB_REDIRECT_REQUEST;
	} else {
		ep->port = udp->source;
		if (!steered || !(*steered & KVLB_PORT_REPLY) ||
		    !bpf_map_lookup_elem(&backends, ep))
			return count(KVLB_PASS_OTHER_PORT, XDP_PASS);
		reason = KVLB_REDIRECT_REPLY;
	}
	verdict = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
	return count(verdict == XDP_REDIRECT ? reason : KVLB_PASS_NO_SOCKET, verdict);
}

static __always_inline int ipv4(struct xdp_md *ctx, void *l3, void *data_end)
{
	struct iphdr *ip = l3;
	struct kvlb_endpoint ep = { .family = 4 };
	__u32 hlen;

	if ((void *)(ip + 1) > data_end)
		return count(KVLB_PASS_TRUNCATED, XDP_PASS);
	if (ip->version != 4 || ip->ihl < 5)
		return count(KVLB_PASS_MALFORMED, XDP_PASS);
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return count(KVLB_PASS_FRAGMENT, XDP_PASS);
	if (ip->protocol != IPPROTO_UDP)
		return count(KVLB_PASS_NOT_UDP, XDP_PASS);
	hlen = ip->ihl * 4;
	if (l3 + hlen > data_end)
		return count(KVLB_PASS_TRUNCATED, XDP_PASS);
	__builtin_memcpy(ep.addr, &ip->saddr, 4);
	return steer(ctx, l3 + hlen, data_end, &ep);
}

static __always_inline int ipv6(struct xdp_md *ctx, void *l3, void *data_end)
{
	struct ipv6hdr *ip6 = l3;
	struct kvlb_endpoint ep = { .family = 6 };

	if ((void *)(ip6 + 1) > data_end)
		return count(KVLB_PASS_TRUNCATED, XDP_PASS);
	if (ip6->version != 6)
		return count(KVLB_PASS_MALFORMED, XDP_PASS);
	switch (ip6->nexthdr) {
	case IPPROTO_UDP:
		break;
	case IPPROTO_FRAGMENT:
		return count(KVLB_PASS_FRAGMENT, XDP_PASS);
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
		return count(KVLB_PASS_IPV6_EXT, XDP_PASS);
	default:
		return count(KVLB_PASS_NOT_UDP, XDP_PASS);
	}
	__builtin_memcpy(ep.addr, &ip6->saddr, 16);
	return steer(ctx, (void *)(ip6 + 1), data_end, &ep);
}

SEC("xdp")
int kvlb_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	__be16 proto;

	if (l3 > data_end)
		return count(KVLB_PASS_TRUNCATED, XDP_PASS);
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vlan = l3;

		if ((void *)(vlan + 1) > data_end)
			return count(KVLB_PASS_TRUNCATED, XDP_PASS);
		proto = vlan->proto;
		l3 = vlan + 1;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return ipv4(ctx, l3, data_end);
	if (proto == bpf_htons(ETH_P_IPV6))
		return ipv6(ctx, l3, data_end);
	return count(KVLB_PASS_NOT_IP, XDP_PASS);
}

/* For the peer of a veth that kvlb sends native XDP frames into: such frames are delivered only
 * when the peer has an XDP program of its own. */
SEC("xdp")
int kvlb_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// The benchmark's sender: memcached UDP gets over a fixed window of requests in flight, sent
// and received in batches (sendmmsg/recvmmsg). Every arm of bench:afxdp uses this same sender.
// It counts reply datagrams that carry the id of a request in flight; a window that goes quiet
// for 20 ms is sent again (counted as lost). Prints one JSON line.
//   udp-blast HOST PORT SECONDS WINDOW KEYS [preload] [raw IFACE NEXTHOP_MAC]
// With "preload", it first sets each of the KEYS keys (32-byte values), so that gets hit.
// With "raw", gets leave as whole frames through an AF_PACKET socket that bypasses the qdisc:
// the sender's own UDP/IP stack was the first thing to saturate its CPU, so this lifts the
// ceiling that every arm is measured against. Replies still arrive on the UDP socket.
// BLAST_FLOWS=N (default 1) spreads the window over N UDP sockets, N source ports: N flows, so
// that a receiver hashing flows across queues (RSS, af_packet fanout) can use them all.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_WINDOW 4096
#define MAX_FLOWS 64

static int flows = 1;
static int fds[MAX_FLOWS];
static struct sockaddr_in from[MAX_FLOWS]; // each flow's own address, for raw frames

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

#define HEADERS (sizeof(struct ether_header) + sizeof(struct iphdr) + sizeof(struct udphdr))

// Each request sits after room for its Ethernet, IPv4 and UDP headers, which raw mode fills in.
static char req[MAX_WINDOW][HEADERS + 64];
static int req_len[MAX_WINDOW];

struct raw {
	int fd; // -1: send through the UDP socket
	struct sockaddr_ll dev;
	struct ether_header eth;
	struct sockaddr_in to;
};
static struct raw raw = { .fd = -1 };

static uint16_t ip_checksum(const void *data, int len)
{
	const uint16_t *w = data;
	uint32_t sum = 0;
	for (; len > 1; len -= 2)
		sum += *w++;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static void frame(int slot)
{
	char *f = req[slot];
	int len = req_len[slot];
	struct iphdr *ip = (struct iphdr *)(f + sizeof(struct ether_header));
	struct udphdr *udp = (struct udphdr *)(ip + 1);
	memcpy(f, &raw.eth, sizeof(raw.eth));
	*ip = (struct iphdr){ .version = 4,
			      .ihl = 5,
			      .ttl = 64,
			      .protocol = IPPROTO_UDP,
			      .tot_len = htons(sizeof(*ip) + sizeof(*udp) + len),
			      .id = htons(slot),
			      .saddr = from[slot % flows].sin_addr.s_addr,
			      .daddr = raw.to.sin_addr.s_addr };
	ip->check = ip_checksum(ip, sizeof(*ip));
	// a zero UDP checksum means "none" over IPv4 (RFC 768)
	*udp = (struct udphdr){ .source = from[slot % flows].sin_port,
				.dest = raw.to.sin_port,
				.len = htons(sizeof(*udp) + len) };
}

static void build(int slot, uint16_t id, int keys)
{
	unsigned char *p = (unsigned char *)req[slot] + HEADERS;
	p[0] = id >> 8, p[1] = id & 0xff, p[2] = 0, p[3] = 0, p[4] = 0, p[5] = 1, p[6] = 0,
	p[7] = 0;
	req_len[slot] = 8 + snprintf((char *)p + 8, 56, "get blast-%d\r\n", rand() % keys);
	if (raw.fd >= 0)
		frame(slot);
}

// Sends the slots through flow f's socket (or the raw socket); returns how many left.
static int send_batch(int fd, const int *slots, int n)
{
	struct mmsghdr m[BATCH];
	struct iovec v[BATCH];
	int sent = 0;
	int skip = raw.fd >= 0 ? 0 : HEADERS;
	while (sent < n) {
		int k = n - sent < BATCH ? n - sent : BATCH;
		for (int i = 0; i < k; i++) {
			int slot = slots[sent + i];
			v[i].iov_base = req[slot] + skip;
			v[i].iov_len = req_len[slot] + HEADERS - skip;
			memset(&m[i], 0, sizeof(m[i]));
			m[i].msg_hdr.msg_iov = &v[i];
			m[i].msg_hdr.msg_iovlen = 1;
			if (raw.fd >= 0) {
				m[i].msg_hdr.msg_name = &raw.dev;
				m[i].msg_hdr.msg_namelen = sizeof(raw.dev);
			}
		}
		int r = sendmmsg(fd, m, k, 0);
		if (r <= 0)
			break;
		sent += r;
	}
	return sent;
}

static int send_slots(const int *slots, int n)
{
	if (raw.fd >= 0 || flows == 1)
		return send_batch(raw.fd >= 0 ? raw.fd : fds[0], slots, n);
	int sent = 0, mine[MAX_WINDOW];
	for (int f = 0; f < flows; f++) {
		int k = 0;
		for (int i = 0; i < n; i++)
			if (slots[i] % flows == f)
				mine[k++] = slots[i];
		sent += send_batch(fds[f], mine, k);
	}
	return sent;
}

static int preload(int fd, int keys)
{
	char msg[128], in[2048];
	for (int k = 0; k < keys; k++) {
		int n = 8 + snprintf(msg + 8, sizeof(msg) - 8, "set blast-%d 0 0 32\r\n%032d\r\n",
				     k, k);
		memset(msg, 0, 8);
		msg[1] = k & 0xff, msg[5] = 1;
		int ok = 0;
		for (int attempt = 0; attempt < 5 && !ok; attempt++) {
			send(fd, msg, n, 0);
			struct pollfd p = { fd, POLLIN, 0 };
			while (!ok && poll(&p, 1, 200) > 0) {
				ssize_t r = recv(fd, in, sizeof(in), 0);
				ok = r >= 16 && memcmp(in + 8, "STORED", 6) == 0 &&
				     (unsigned char)in[1] == (k & 0xff);
			}
		}
		if (!ok) {
			fprintf(stderr, "udp-blast: set blast-%d got no STORED\n", k);
			return 1;
		}
	}
	return 0;
}

// Opens the AF_PACKET socket for raw mode; the flows' UDP sockets are bound already.
static int open_raw(const char *ifname, const char *mac, const struct sockaddr_in *to)
{
	unsigned char *d = raw.eth.ether_dhost;
	if (sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &d[0], &d[1], &d[2], &d[3], &d[4],
		   &d[5]) != 6) {
		fprintf(stderr, "udp-blast: %s: not a MAC address\n", mac);
		return -1;
	}
	raw.fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (raw.fd < 0) {
		perror("udp-blast: AF_PACKET socket (needs root)");
		return -1;
	}
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(raw.fd, SIOCGIFHWADDR, &ifr)) {
		fprintf(stderr, "udp-blast: %s: no such interface\n", ifname);
		return -1;
	}
	memcpy(raw.eth.ether_shost, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	raw.eth.ether_type = htons(ETHERTYPE_IP);
	raw.dev = (struct sockaddr_ll){ .sll_family = AF_PACKET,
					.sll_ifindex = if_nametoindex(ifname),
					.sll_halen = ETH_ALEN };
	memcpy(raw.dev.sll_addr, d, ETH_ALEN);
	int one = 1;
	setsockopt(raw.fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	raw.to = *to;
	return 0;
}

int main(int argc, char **argv)
{
	int with_preload = argc > 6 && strcmp(argv[6], "preload") == 0;
	int rest = 6 + with_preload;
	int with_raw = argc == rest + 3 && strcmp(argv[rest], "raw") == 0;
	if (argc != rest + (with_raw ? 3 : 0)) {
		fprintf(stderr, "usage: udp-blast HOST PORT SECONDS WINDOW KEYS [preload] [raw "
				"IFACE NEXTHOP_MAC]\n");
		return 2;
	}
	double seconds = atof(argv[3]);
	int window = atoi(argv[4]), keys = atoi(argv[5]);
	if (window < 1 || window > MAX_WINDOW || keys < 1 || seconds <= 0) {
		fprintf(stderr, "udp-blast: WINDOW 1..%d, KEYS >= 1, SECONDS > 0\n", MAX_WINDOW);
		return 2;
	}
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "udp-blast: %s: not an IPv4 address\n", argv[1]);
		return 2;
	}
	const char *env = getenv("BLAST_FLOWS");
	flows = env ? atoi(env) : 1;
	if (flows < 1 || flows > MAX_FLOWS) {
		fprintf(stderr, "udp-blast: BLAST_FLOWS 1..%d\n", MAX_FLOWS);
		return 2;
	}
	for (int f = 0; f < flows; f++) {
		fds[f] = socket(AF_INET, SOCK_DGRAM, 0);
		int buf = 4 << 20;
		setsockopt(fds[f], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		setsockopt(fds[f], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		if (connect(fds[f], (struct sockaddr *)&to, sizeof(to))) {
			perror("udp-blast: connect");
			return 1;
		}
		socklen_t len = sizeof(from[f]);
		getsockname(fds[f], (struct sockaddr *)&from[f], &len);
	}
	if (with_raw && open_raw(argv[rest + 1], argv[rest + 2], &to))
		return 1;
	if (with_preload && preload(fds[0], keys))
		return 1;
	// slot i carries ids i, i + window, i + 2 * window, ... so a reply names its slot
	uint16_t id[MAX_WINDOW];
	int slots[MAX_WINDOW];
	for (int i = 0; i < window; i++) {
		id[i] = i;
		build(i, id[i], keys);
		slots[i] = i;
	}
	uint64_t replies = 0, lost = 0, sent = send_slots(slots, window);
	struct pollfd p[MAX_FLOWS];
	for (int f = 0; f < flows; f++)
		p[f] = (struct pollfd){ fds[f], POLLIN, 0 };
	char in[BATCH][2048];
	struct mmsghdr m[BATCH];
	struct iovec v[BATCH];
	double start = now(), end = start + seconds, last = start;
	while (now() < end) {
		if (poll(p, flows, 5) <= 0) {
			if (now() - last > 0.02) { // a quiet window: send it all again
				for (int i = 0; i < window; i++) {
					id[i] += window;
					build(i, id[i], keys);
					slots[i] = i;
				}
				lost += window;
				sent += send_slots(slots, window);
				last = now();
			}
			continue;
		}
		int k = 0;
		for (int f = 0; f < flows; f++) {
			if (!(p[f].revents & POLLIN))
				continue;
			for (int i = 0; i < BATCH; i++) {
				v[i].iov_base = in[i];
				v[i].iov_len = sizeof(in[i]);
				memset(&m[i], 0, sizeof(m[i]));
				m[i].msg_hdr.msg_iov = &v[i];
				m[i].msg_hdr.msg_iovlen = 1;
			}
			int n = recvmmsg(fds[f], m, BATCH, MSG_DONTWAIT, NULL);
			for (int i = 0; i < n; i++) {
				if (m[i].msg_len < 8)
					continue;
				const unsigned char *d = (const unsigned char *)in[i];
				uint16_t rid = (d[0] << 8) | d[1];
				int slot = rid % window;
				if (slot >= window || id[slot] != rid)
					continue; // late, or a second datagram of the same reply
				replies++;
				id[slot] += window;
				build(slot, id[slot], keys);
				slots[k++] = slot;
			}
		}
		if (k > 0) {
			sent += send_slots(slots, k);
			last = now();
		}
	}
	double took = now() - start;
	printf("{\"replies\":%llu,\"sent\":%llu,\"lost\":%llu,\"seconds\":%.3f,\"pps\":%.0f}\n",
	       (unsigned long long)replies, (unsigned long long)sent, (unsigned long long)lost,
	       took, replies / took);
	return 0;
}

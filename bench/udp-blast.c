// The benchmark's sender: memcached UDP gets over a fixed window of requests in flight, sent
// and received in batches (sendmmsg/recvmmsg). Every arm of bench:afxdp uses this same sender.
// It counts reply datagrams that carry the id of a request in flight; a window that goes quiet
// for 20 ms is sent again (counted as lost). Prints one JSON line.
//   udp-blast HOST PORT SECONDS WINDOW KEYS [preload]
// With "preload", it first sets each of the KEYS keys (32-byte values), so that gets hit.
#define _GNU_SOURCE
#include <arpa/inet.h>
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

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static char req[MAX_WINDOW][64];
static int req_len[MAX_WINDOW];

static void build(int slot, uint16_t id, int keys)
{
	unsigned char *p = (unsigned char *)req[slot];
	p[0] = id >> 8, p[1] = id & 0xff, p[2] = 0, p[3] = 0, p[4] = 0, p[5] = 1, p[6] = 0, p[7] = 0;
	req_len[slot] = 8 + snprintf(req[slot] + 8, 56, "get blast-%d\r\n", rand() % keys);
}

static int send_slots(int fd, const int *slots, int n)
{
	struct mmsghdr m[BATCH];
	struct iovec v[BATCH];
	int sent = 0;
	while (sent < n) {
		int k = n - sent < BATCH ? n - sent : BATCH;
		for (int i = 0; i < k; i++) {
			v[i].iov_base = req[slots[sent + i]];
			v[i].iov_len = req_len[slots[sent + i]];
			memset(&m[i], 0, sizeof(m[i]));
			m[i].msg_hdr.msg_iov = &v[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		int r = sendmmsg(fd, m, k, 0);
		if (r <= 0)
			break;
		sent += r;
	}
	return sent;
}

static int preload(int fd, int keys)
{
	char msg[128], in[2048];
	for (int k = 0; k < keys; k++) {
		int n = 8 + snprintf(msg + 8, sizeof(msg) - 8, "set blast-%d 0 0 32\r\n%032d\r\n", k, k);
		memset(msg, 0, 8);
		msg[1] = k & 0xff, msg[5] = 1;
		int ok = 0;
		for (int attempt = 0; attempt < 5 && !ok; attempt++) {
			send(fd, msg, n, 0);
			struct pollfd p = { fd, POLLIN, 0 };
			while (!ok && poll(&p, 1, 200) > 0) {
				ssize_t r = recv(fd, in, sizeof(in), 0);
				ok = r >= 16 && memcmp(in + 8, "STORED", 6) == 0 && (unsigned char)in[1] == (k & 0xff);
			}
		}
		if (!ok) {
			fprintf(stderr, "udp-blast: set blast-%d got no STORED\n", k);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: udp-blast HOST PORT SECONDS WINDOW KEYS [preload]\n");
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
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int buf = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (connect(fd, (struct sockaddr *)&to, sizeof(to))) {
		perror("udp-blast: connect");
		return 1;
	}
	if (argc == 7 && preload(fd, keys))
		return 1;
	// slot i carries ids i, i + window, i + 2 * window, ... so a reply names its slot
	uint16_t id[MAX_WINDOW];
	int slots[MAX_WINDOW];
	for (int i = 0; i < window; i++) {
		id[i] = i;
		build(i, id[i], keys);
		slots[i] = i;
	}
	uint64_t replies = 0, lost = 0, sent = send_slots(fd, slots, window);
	char in[BATCH][2048];
	struct mmsghdr m[BATCH];
	struct iovec v[BATCH];
	double start = now(), end = start + seconds, last = start;
	while (now() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 5) <= 0) {
			if (now() - last > 0.02) { // a quiet window: send it all again
				for (int i = 0; i < window; i++) {
					id[i] += window;
					build(i, id[i], keys);
					slots[i] = i;
				}
				lost += window;
				sent += send_slots(fd, slots, window);
				last = now();
			}
			continue;
		}
		for (int i = 0; i < BATCH; i++) {
			v[i].iov_base = in[i];
			v[i].iov_len = sizeof(in[i]);
			memset(&m[i], 0, sizeof(m[i]));
			m[i].msg_hdr.msg_iov = &v[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL);
		int k = 0;
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
		if (k > 0) {
			sent += send_slots(fd, slots, k);
			last = now();
		}
	}
	double took = now() - start;
	printf("{\"replies\":%llu,\"sent\":%llu,\"lost\":%llu,\"seconds\":%.3f,\"pps\":%.0f}\n",
	       (unsigned long long)replies, (unsigned long long)sent, (unsigned long long)lost, took,
	       replies / took);
	return 0;
}

/* libmemcached as the routing oracle: servers as host:port:weight arguments, keys on stdin
 * (one per line), and for each key the index of the server libmemcached's weighted ketama
 * picks. */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	memcached_st *m = memcached_create(NULL);
	char line[1024], host[256];
	unsigned port, weight;

	memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
	for (int i = 1; i < argc; i++) {
		if (sscanf(argv[i], "%255[^:]:%u:%u", host, &port, &weight) != 3) {
			fprintf(stderr, "%s: expected host:port:weight\n", argv[i]);
			return 2;
		}
		if (memcached_server_add_with_weight(m, host, port, weight) != MEMCACHED_SUCCESS) {
			fprintf(stderr, "%s: libmemcached refused the server\n", argv[i]);
			return 2;
		}
	}
	while (fgets(line, sizeof(line), stdin)) {
		size_t len = strcspn(line, "\n");
		printf("%u\n", memcached_generate_hash(m, line, len));
	}
	memcached_free(m);
	return 0;
}

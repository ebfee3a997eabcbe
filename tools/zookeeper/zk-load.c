// Load for a ZooKeeper-protocol server (Apache ZooKeeper, or Cairn's ZooKeeper port) with ZooKeeper's C client's
// asynchronous API (libzookeeper-mt), the same workloads and report as cairn-bench's: C connections x O requests in
// flight, create of unique 256-byte nodes, get or set of random preloaded keys, registry (ephemeral sequential
// create, then delete of that node). Used by tools/zookeeper-compare to measure both servers with the same client on
// the same machine; it reports the server's CPU per operation (from /proc, given its pid) and its own.
// Usage: zk-load HOST:PORT create|get|set|registry CONNECTIONS OUTSTANDING SECONDS WARMUP_SECONDS [SERVER_PID]
#define THREADED
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include "../c/clock.h"

enum workload { CREATE, GET, SET, REGISTRY };
static enum workload workload;
static char data[256];
static const int keys = 10000;
static long measure_from, measure_until;

typedef struct {
    zhandle_t *zh;
    int id;
    long sequence;
    long *latencies;
    long count, capacity, errors;
    unsigned random;
} connection;

typedef struct {
    connection *connection;
    long sent;
} request;


/// CPU seconds (user + system) of a local process, from /proc; -1 when unknown.
static double cpu_seconds(int pid) {
    char path[64], line[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    char *p = strrchr(line, ')');
    long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime) != 2) return -1;
    return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

static void send_next(connection *c, const char *delete_path);

static void finish(request *r, int rc, const char *created) {
    connection *c = r->connection;
    long t = now();
    if (r->sent >= measure_from && t < measure_until) {
        if (rc == ZOK && c->count < c->capacity) c->latencies[c->count++] = t - r->sent;
        else if (rc != ZOK) c->errors++;
    }
    free(r);
    if (t < measure_until) send_next(c, workload == REGISTRY && rc == ZOK ? created : NULL);
}

static void on_string(int rc, const char *value, const void *r) { finish((request *)r, rc, value); }
static void on_data(int rc, const char *v, int l, const struct Stat *s, const void *r) { finish((request *)r, rc, NULL); }
static void on_stat(int rc, const struct Stat *s, const void *r) { finish((request *)r, rc, NULL); }
static void on_void(int rc, const void *r) { finish((request *)r, rc, NULL); }

static void send_next(connection *c, const char *delete_path) {
    request *r = malloc(sizeof *r);
    r->connection = c;
    r->sent = now();
    char path[128];
    switch (workload) {
    case CREATE:
        snprintf(path, sizeof path, "/bench/c/%d-%d-%ld", getpid(), c->id, c->sequence++);
        zoo_acreate(c->zh, path, data, sizeof data, &ZOO_OPEN_ACL_UNSAFE, 0, on_string, r);
        break;
    case REGISTRY:
        if (delete_path) zoo_adelete(c->zh, delete_path, -1, on_void, r);
        else zoo_acreate(c->zh, "/bench/svc/i-", data, sizeof data, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL | ZOO_SEQUENCE,
                         on_string, r);
        break;
    case GET:
    case SET:
        c->random = c->random * 1103515245u + 12345u;
        snprintf(path, sizeof path, "/bench/k/%u", (c->random >> 8) % keys);
        if (workload == GET) zoo_aget(c->zh, path, 0, on_data, r);
        else zoo_aset(c->zh, path, data, sizeof data, -1, on_stat, r);
        break;
    }
}

static zhandle_t *open_session(const char *host) {
    zhandle_t *zh = zookeeper_init(host, NULL, 30000, 0, 0, 0);
    for (int i = 0; i < 200 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++) usleep(50000);
    if (zoo_state(zh) != ZOO_CONNECTED_STATE) {
        fprintf(stderr, "cannot connect to %s\n", host);
        exit(1);
    }
    return zh;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr,
                "usage: zk-load HOST:PORT create|get|set|registry CONNECTIONS OUTSTANDING SECONDS WARMUP_SECONDS [SERVER_PID]\n");
        return 2;
    }
    const char *host = argv[1], *name = argv[2];
    int connections = atoi(argv[3]), outstanding = atoi(argv[4]), server = argc > 7 ? atoi(argv[7]) : 0;
    double seconds = atof(argv[5]), warmup = atof(argv[6]);
    workload = !strcmp(name, "create") ? CREATE : !strcmp(name, "get") ? GET : !strcmp(name, "set") ? SET : REGISTRY;
    memset(data, 'x', sizeof data);
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);

    zhandle_t *setup = open_session(host);
    const char *parents[] = {"/bench", "/bench/c", "/bench/k", "/bench/svc"};
    for (int i = 0; i < 4; i++) zoo_create(setup, parents[i], NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    if (workload == GET || workload == SET) {
        char path[64];
        for (int i = 0; i < keys; i++) {
            snprintf(path, sizeof path, "/bench/k/%d", i);
            zoo_create(setup, path, data, sizeof data, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        }
    }

    connection *all = calloc(connections, sizeof *all);
    for (int i = 0; i < connections; i++) {
        all[i].zh = open_session(host);
        all[i].id = i;
        all[i].capacity = 20000000 / connections;
        all[i].latencies = malloc(all[i].capacity * sizeof(long));
        all[i].random = i * 7919u + 1;
    }
    measure_from = now() + (long)(warmup * 1e9);
    measure_until = measure_from + (long)(seconds * 1e9);
    for (int i = 0; i < connections; i++)
        for (int j = 0; j < outstanding; j++) send_next(&all[i], NULL);
    while (now() < measure_from) usleep(1000);
    double cpu_before = server ? cpu_seconds(server) : -1, client_before = cpu_seconds(getpid());
    while (now() < measure_until) usleep(1000);
    double cpu_after = server ? cpu_seconds(server) : -1, client_after = cpu_seconds(getpid());
    usleep(500000);  // replies in flight at the end are not counted

    long total = 0, errors = 0;
    for (int i = 0; i < connections; i++) total += all[i].count, errors += all[i].errors;
    long *latencies = malloc((total + 1) * sizeof(long)), at = 0;
    for (int i = 0; i < connections; i++) {
        memcpy(latencies + at, all[i].latencies, all[i].count * sizeof(long));
        at += all[i].count;
    }
    qsort(latencies, total, sizeof(long), compare);
    double rate = total / seconds;
    printf("%s: %d connections x %d outstanding, %.1f s\n", name, connections, outstanding, seconds);
    printf("  %.0f ops/s%s, %ld errors\n", rate, workload == REGISTRY ? " (two per cycle)" : "", errors);
    if (total > 0)
        printf("  latency us: p50 %ld  p90 %ld  p99 %ld  p99.9 %ld  max %ld\n", latencies[total / 2] / 1000,
               latencies[total * 9 / 10] / 1000, latencies[total * 99 / 100] / 1000, latencies[total * 999 / 1000] / 1000,
               latencies[total - 1] / 1000);
    if (cpu_before >= 0 && cpu_after >= 0 && total > 0)
        printf("  server CPU: %.2f s per 100k ops\n", (cpu_after - cpu_before) / total * 100000);
    if (total > 0) printf("  client CPU: %.2f s per 100k ops\n", (client_after - client_before) / total * 100000);
    fflush(stdout);
    _exit(0);  // the client library's threads are not worth a clean shutdown here
}

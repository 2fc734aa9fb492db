/*
 * vs_curl: lcm-outcome's lcm_set_outcome() against libcurl sending the same POST to
 * the same server, in one process and under the same conditions. scripts/bench runs
 * it and turns its `result ...` lines into BENCHMARKS.md's table.
 *
 *   vs_curl wire                                   both clients send identical bytes?
 *   vs_curl latency URL THREADS ROUNDS CALLS [SIM_PID]
 *       ROUNDS rounds; in each, CALLS calls with one client then CALLS with the other
 *       (split over THREADS threads), the order swapped every round; one unmeasured
 *       round first. With SIM_PID, the server's CPU time is measured too.
 *   vs_curl first ours|curl URL                    the first call of a process
 *   vs_curl memory ours|curl URL N...              VmRSS/VmHWM after N calls, each
 *   vs_curl connections URL N                      TCP connections for N calls, each
 *
 * Every call must succeed: one failure ends the run with exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns_self(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

/* utime + stime of process `pid` from /proc/PID/stat, in ns (clock-tick resolution:
 * meaningful summed over many calls, not for one). 0 when pid is 0. */
static uint64_t cpu_ns_of(long pid) {
    if (pid <= 0)
        return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "vs_curl: cannot read %s: %s\n", path, strerror(errno));
        exit(1);
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and ')': fields start after the last ')'. */
    char *p = strrchr(buf, ')');
    unsigned long long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                     &stime) != 2) {
        fprintf(stderr, "vs_curl: cannot parse %s\n", path);
        exit(1);
    }
    return (utime + stime) * 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
}

/* A size in kB from /proc/self/status ("VmRSS", "VmHWM"). */
static long status_kb(const char *field) {
    char line[256];
    long kb = -1;
    size_t len = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            kb = strtol(line + len + 1, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static long number_arg(const char *text, const char *what) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || v < 0) {
        fprintf(stderr, "vs_curl: %s: expected a non-negative integer, got '%s'\n", what,
                text);
        exit(2);
    }
    return v;
}

static void call_or_die(struct client *c) {
    if (client_call(c) != 0) {
        fprintf(stderr, "vs_curl: %s call failed: %s\n", client_name(c->kind), c->err);
        exit(1);
    }
}

/* ---- latency: rounds of interleaved blocks over THREADS threads ---- */

struct block_plan {
    pthread_barrier_t start, done;
    enum client_kind kind;
    size_t calls; /* per thread, in this block */
    int measured;
    int quit;
};

struct worker {
    pthread_t thread;
    struct block_plan *plan;
    struct client clients[CLIENT_KINDS];
    uint64_t *latency[CLIENT_KINDS];
    size_t count[CLIENT_KINDS];
    int failed;
    char failure[sizeof((struct client *)0)->err];
};

static void *worker_main(void *arg) {
    struct worker *w = arg;
    struct block_plan *plan = w->plan;
    for (;;) {
        pthread_barrier_wait(&plan->start);
        if (plan->quit)
            return NULL;
        struct client *c = &w->clients[plan->kind];
        uint64_t *out = w->latency[plan->kind] + w->count[plan->kind];
        for (size_t i = 0; i < plan->calls && !w->failed; i++) {
            uint64_t t0 = now_ns();
            int rc = client_call(c);
            uint64_t t1 = now_ns();
            if (rc != 0) {
                w->failed = 1;
                snprintf(w->failure, sizeof w->failure, "%s call failed: %s",
                         client_name(c->kind), c->err);
            }
            out[i] = t1 - t0;
        }
        if (plan->measured)
            w->count[plan->kind] += plan->calls;
        pthread_barrier_wait(&plan->done);
    }
}

struct totals {
    uint64_t wall_ns, client_cpu_ns, server_cpu_ns, calls;
};

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static uint64_t percentile(const uint64_t *sorted, size_t n, double p) {
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    return sorted[(rank > n ? n : rank) - 1];
}

static int run_latency(const char *endpoint, long threads, long rounds, long calls,
                       long sim_pid) {
    if (threads < 1 || rounds < 1 || calls < threads) {
        fprintf(stderr, "vs_curl latency: need THREADS >= 1, ROUNDS >= 1, CALLS >= THREADS\n");
        return 2;
    }
    clients_global_init(endpoint);
    size_t per_thread = (size_t)(calls / threads);
    struct block_plan plan = {0};
    pthread_barrier_init(&plan.start, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&plan.done, NULL, (unsigned)threads + 1);
    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    for (long t = 0; t < threads; t++) {
        struct worker *w = &workers[t];
        w->plan = &plan;
        for (int k = 0; k < CLIENT_KINDS; k++) {
            client_open(&w->clients[k], (enum client_kind)k, endpoint);
            /* Room for the measured rounds plus the block being written. */
            w->latency[k] = calloc(per_thread * ((size_t)rounds + 1), sizeof(uint64_t));
            if (!w->latency[k]) {
                fprintf(stderr, "vs_curl: out of memory\n");
                return 1;
            }
        }
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            fprintf(stderr, "vs_curl: pthread_create failed\n");
            return 1;
        }
    }

    struct totals totals[CLIENT_KINDS] = {{0}};
    /* Round -1 warms both up (connections, caches, allocator) and is not counted. */
    for (long round = -1; round < rounds; round++) {
        for (int slot = 0; slot < CLIENT_KINDS; slot++) {
            enum client_kind kind = (enum client_kind)((slot + (round & 1)) % CLIENT_KINDS);
            plan.kind = kind;
            plan.calls = per_thread;
            plan.measured = round >= 0;
            uint64_t cpu0 = cpu_ns_self(), server0 = cpu_ns_of(sim_pid);
            pthread_barrier_wait(&plan.start);
            uint64_t t0 = now_ns();
            pthread_barrier_wait(&plan.done);
            uint64_t t1 = now_ns();
            uint64_t cpu1 = cpu_ns_self(), server1 = cpu_ns_of(sim_pid);
            for (long t = 0; t < threads; t++)
                if (workers[t].failed) {
                    fprintf(stderr, "vs_curl: %s\n", workers[t].failure);
                    exit(1);
                }
            if (plan.measured) {
                totals[kind].wall_ns += t1 - t0;
                totals[kind].client_cpu_ns += cpu1 - cpu0;
                totals[kind].server_cpu_ns += server1 - server0;
                totals[kind].calls += per_thread * (uint64_t)threads;
            }
        }
    }
    plan.quit = 1;
    pthread_barrier_wait(&plan.start);

    for (int k = 0; k < CLIENT_KINDS; k++) {
        size_t n = (size_t)totals[k].calls, at = 0;
        uint64_t *all = malloc(n * sizeof *all), sum = 0;
        for (long t = 0; t < threads; t++) {
            memcpy(all + at, workers[t].latency[k], workers[t].count[k] * sizeof *all);
            at += workers[t].count[k];
        }
        qsort(all, n, sizeof *all, compare_u64);
        for (size_t i = 0; i < n; i++)
            sum += all[i];
        const struct totals *s = &totals[k];
        printf("result mode=latency threads=%ld client=%s calls=%zu p50_ns=%llu p99_ns=%llu "
               "mean_ns=%llu calls_per_s=%.0f client_cpu_ns_per_call=%llu "
               "server_cpu_ns_per_call=%s%llu\n",
               threads, client_name((enum client_kind)k), n,
               (unsigned long long)percentile(all, n, 50),
               (unsigned long long)percentile(all, n, 99), (unsigned long long)(sum / n),
               (double)n * 1e9 / (double)s->wall_ns,
               (unsigned long long)(s->client_cpu_ns / n), sim_pid > 0 ? "" : "-",
               (unsigned long long)(sim_pid > 0 ? s->server_cpu_ns / n : 0));
        free(all);
    }
    for (long t = 0; t < threads; t++) {
        pthread_join(workers[t].thread, NULL);
        for (int k = 0; k < CLIENT_KINDS; k++) {
            client_close(&workers[t].clients[k]);
            free(workers[t].latency[k]);
        }
    }
    free(workers);
    return 0;
}

/* ---- the other modes: one client, one process ---- */

static int run_first(enum client_kind kind, const char *endpoint) {
    clients_global_init(endpoint);
    struct client c;
    client_open(&c, kind, endpoint);
    uint64_t t0 = now_ns();
    call_or_die(&c);
    uint64_t t1 = now_ns();
    printf("result mode=first client=%s ns=%llu connections=%llu\n", client_name(kind),
           (unsigned long long)(t1 - t0), (unsigned long long)tcp_connects());
    client_close(&c);
    return 0;
}

/* VmRSS and VmHWM after each number of calls in `marks` (ascending). Printed only at
 * the end: stdio's first output allocates, and would count as the library's growth. */
#define MAX_MARKS 32
static int run_memory(enum client_kind kind, const char *endpoint, char **marks, int count) {
    long calls[MAX_MARKS], rss[MAX_MARKS], hwm[MAX_MARKS];
    if (count > MAX_MARKS)
        count = MAX_MARKS;
    for (int m = 0; m < count; m++)
        calls[m] = number_arg(marks[m], "N");
    clients_global_init(endpoint);
    struct client c;
    client_open(&c, kind, endpoint);
    long done = 0;
    for (int m = 0; m < count; m++) {
        for (; done < calls[m]; done++)
            call_or_die(&c);
        rss[m] = status_kb("VmRSS");
        hwm[m] = status_kb("VmHWM");
    }
    client_close(&c);
    for (int m = 0; m < count; m++)
        printf("result mode=memory client=%s calls=%ld vmrss_kb=%ld vmhwm_kb=%ld\n",
               client_name(kind), calls[m], rss[m], hwm[m]);
    return 0;
}

static int run_connections(const char *endpoint, long calls) {
    clients_global_init(endpoint);
    for (int k = 0; k < CLIENT_KINDS; k++) {
        struct client c;
        client_open(&c, (enum client_kind)k, endpoint);
        uint64_t before = tcp_connects();
        for (long i = 0; i < calls; i++)
            call_or_die(&c);
        uint64_t used = tcp_connects() - before;
        printf("result mode=connections client=%s calls=%ld connections=%llu",
               client_name(c.kind), calls, (unsigned long long)used);
        /* libcurl's own count must agree, or the connect() hook missed something. */
        if (c.kind == CLIENT_CURL)
            printf(" curl_num_connects=%ld", c.connects);
        printf("\n");
        if (c.kind == CLIENT_CURL && (uint64_t)c.connects != used) {
            fprintf(stderr, "vs_curl: connect() counted %llu, libcurl says %ld\n",
                    (unsigned long long)used, c.connects);
            return 1;
        }
        client_close(&c);
    }
    return 0;
}

static int usage(void) {
    fprintf(stderr,
            "usage: vs_curl wire\n"
            "       vs_curl latency URL THREADS ROUNDS CALLS [SIM_PID]\n"
            "       vs_curl first ours|curl URL\n"
            "       vs_curl memory ours|curl URL N...\n"
            "       vs_curl connections URL N\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return usage();
    const char *mode = argv[1];
    int rc;
    if (strcmp(mode, "wire") == 0 && argc == 2)
        rc = wire_check();
    else if (strcmp(mode, "latency") == 0 && (argc == 6 || argc == 7))
        rc = run_latency(argv[2], number_arg(argv[3], "THREADS"),
                         number_arg(argv[4], "ROUNDS"), number_arg(argv[5], "CALLS"),
                         argc == 7 ? number_arg(argv[6], "SIM_PID") : 0);
    else if (strcmp(mode, "first") == 0 && argc == 4)
        rc = run_first(client_kind_from_name(argv[2]), argv[3]);
    else if (strcmp(mode, "memory") == 0 && argc >= 5)
        rc = run_memory(client_kind_from_name(argv[2]), argv[3], argv + 4, argc - 4);
    else if (strcmp(mode, "connections") == 0 && argc == 4)
        rc = run_connections(argv[2], number_arg(argv[3], "N"));
    else
        return usage();
    fflush(stdout);
    curl_global_cleanup();
    return rc;
}

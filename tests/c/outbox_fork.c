/*
 * A pre-forking dialer with an outbox: parent and children share one outbox file.
 *
 * The parent (default client, outbox_mode always) queues a "blocker" outcome, which
 * its background sender takes to HUNG_ENDPOINT, a server that never answers: the
 * parent's sender is then stuck in that delivery for the rest of the run. The test
 * says so by creating READY_FILE. The parent queues five more outcomes, which its
 * sender cannot take, and forks CHILDREN children at once. Each child points its
 * copy of the default client at GOOD_ENDPOINT and queues ten outcomes: the child's
 * first use of the outbox must open a database connection of its own and start a
 * sender of its own, which delivers everything but the blocker (held by the parent's
 * sender under its lease). A child exits 0 once only the blocker is pending.
 * Then the parent, pointed at GOOD_ENDPOINT too, queues and flushes one more through
 * its own connection.
 *
 * Usage: outbox_fork OUTBOX GOOD_ENDPOINT HUNG_ENDPOINT READY_FILE
 * Exit 0 when every step went as described; the test checks what LCM received.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lcm_outcome.h"

#define CHILDREN 3
#define PER_CHILD 10
/* Generous: each wait normally ends within a second. */
#define WAIT_SECONDS 60

static int configure(const char *key, const char *value) {
    char err[LCM_ERROR_SIZE];
    lcm_status st = lcm_configure(key, value, err, sizeof err);
    if (st != LCM_OK) {
        fprintf(stderr, "configure %s: %s: %s\n", key, lcm_status_name(st), err);
        return 1;
    }
    return 0;
}

/* Sets an outcome, which must be queued. */
static int queue(const char *call_id) {
    char err[LCM_ERROR_SIZE];
    lcm_status st = lcm_set_outcome(call_id, "5|3|1|0|0|44|1", "1", 0, "testagent",
                                    "fork test", 0, err, sizeof err);
    if (st != LCM_QUEUED) {
        fprintf(stderr, "%s: %s: %s\n", call_id, lcm_status_name(st), err);
        return 1;
    }
    return 0;
}

static void pause_briefly(void) {
    struct timespec two_ms = {0, 2 * 1000 * 1000};
    nanosleep(&two_ms, NULL);
}

/* Waits until the outbox holds `left` pending entries; 0 when it did in time. */
static int wait_for_pending(size_t left, const char *who) {
    for (long i = 0; i < WAIT_SECONDS * 500L; i++) {
        size_t pending = 0;
        char err[LCM_ERROR_SIZE];
        lcm_status st = lcm_outbox_count(&pending, NULL, err, sizeof err);
        if (st != LCM_OK) {
            fprintf(stderr, "%s: count: %s: %s\n", who, lcm_status_name(st), err);
            return 1;
        }
        if (pending == left) return 0;
        pause_briefly();
    }
    fprintf(stderr, "%s: the outbox never got down to %zu pending\n", who, left);
    return 1;
}

static int run_child(int n, const char *good) {
    char id[64];
    if (configure("endpoint", good) != 0) return 1;
    for (int i = 0; i < PER_CHILD; i++) {
        snprintf(id, sizeof id, "child-%d-%d", n, i);
        if (queue(id) != 0) return 1;
    }
    snprintf(id, sizeof id, "child %d", n);
    return wait_for_pending(1, id);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: outbox_fork OUTBOX GOOD_ENDPOINT HUNG_ENDPOINT READY_FILE\n");
        return 2;
    }
    const char *good = argv[2];
    if (configure("endpoint", argv[3]) || configure("timeout_ms", "60000") ||
        configure("retries", "0") || configure("outbox_mode", "always") ||
        configure("outbox_retry_ms", "20") || configure("outbox", argv[1]))
        return 2;
    if (queue("blocker") != 0) return 1;
    int ready = 0;
    for (long i = 0; i < WAIT_SECONDS * 500L && !ready; i++) {
        ready = access(argv[4], F_OK) == 0;
        if (!ready) pause_briefly();
    }
    if (!ready) {
        fprintf(stderr, "the test never said that the parent's sender is busy\n");
        return 1;
    }
    char id[64];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "parent-%d", i);
        if (queue(id) != 0) return 1;
    }

    pid_t children[CHILDREN];
    for (int n = 0; n < CHILDREN; n++) {
        children[n] = fork();
        if (children[n] < 0) {
            perror("fork");
            return 3;
        }
        if (children[n] == 0) _exit(run_child(n, good));
    }
    int failed = 0;
    for (int n = 0; n < CHILDREN; n++) {
        int wstatus = 0;
        if (waitpid(children[n], &wstatus, 0) != children[n]) return 3;
        failed |= !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0;
    }
    if (failed) return 1;

    /* The parent's own connection, after its children used the file. */
    if (configure("endpoint", good) != 0) return 1;
    if (queue("parent-after") != 0) return 1;
    size_t delivered = 0, pending = 0;
    char err[LCM_ERROR_SIZE];
    lcm_status st = lcm_outbox_flush(30000, &delivered, &pending, NULL, err, sizeof err);
    /* The blocker is still in the parent's hands: LCM_ERR_TIMEOUT says so. */
    if (pending != 1 || (st != LCM_OK && st != LCM_ERR_TIMEOUT)) {
        fprintf(stderr, "parent flush: %s, %zu pending: %s\n", lcm_status_name(st), pending, err);
        return 1;
    }
    printf("parent flush: %s, delivered %zu, pending %zu\n", lcm_status_name(st), delivered,
           pending);
    return 0;
}

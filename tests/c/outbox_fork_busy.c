/*
 * fork() while other threads of the parent are using the outbox: THREADS threads
 * keep setting outcomes (outbox_mode always, so each is a commit to the file) while
 * the main thread forks FORKS children one after the other. Each child counts the outbox
 * through a database connection of its own, then exits. A child forked while the
 * other thread held a lock inside the library or SQLite would wait for it forever:
 * the parent gives each child CHILD_SECONDS, then kills it and counts it as hung. At
 * the end the parent delivers everything to ENDPOINT.
 *
 * Each thread cycles over five call ids of its own (latest wins), so that what is
 * left to deliver stays small however long the forking takes.
 *
 * Usage: outbox_fork_busy OUTBOX ENDPOINT
 * Prints "forks N hung H"; exit 0 when no child hung and everything was delivered.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lcm_outcome.h"

#define FORKS 400
#define THREADS 2
#define CHILD_SECONDS 5

static volatile sig_atomic_t stop = 0;
static int thread_failed = 0;
static long queued[THREADS];

static lcm_status set(const char *call_id, const char *outcome, char *err, size_t len) {
    return lcm_set_outcome(call_id, "5|3|1|0|0|44|1", outcome, 0, "testagent", "fork test", 0,
                           err, len);
}

static void *keep_queueing(void *which) {
    char err[LCM_ERROR_SIZE], id[32], outcome[32];
    for (long i = 0; !stop; i++) {
        snprintf(id, sizeof id, "busy-%zu-%ld", (size_t)which, i % 5);
        snprintf(outcome, sizeof outcome, "%ld", i);
        lcm_status st = set(id, outcome, err, sizeof err);
        if (st != LCM_QUEUED) {
            fprintf(stderr, "%s: %s: %s\n", id, lcm_status_name(st), err);
            thread_failed = 1;
            return NULL;
        }
        queued[(size_t)which]++;
    }
    return NULL;
}

/* Reads the outbox (a read never waits for the parent's writes in WAL mode), which
 * opens the child's own database connection. Exits 0 when it could, 4 when the outbox
 * was refused because a thread of the parent was using it at fork(), 1 otherwise. */
static int child(int n) {
    char err[LCM_ERROR_SIZE];
    size_t pending = 0;
    lcm_status st = lcm_outbox_count(&pending, NULL, err, sizeof err);
    if (st == LCM_ERR_CONFIG && strstr(err, "forked while another thread") != NULL) return 4;
    if (st != LCM_OK) {
        fprintf(stderr, "child %d: count: %s: %s\n", n, lcm_status_name(st), err);
        return 1;
    }
    return 0;
}

/* Waits for child `pid`: its exit status, or -1 when it hung (and was killed). */
static int reap(pid_t pid) {
    struct timespec ms = {0, 1000 * 1000};
    for (long i = 0; i < CHILD_SECONDS * 1000L; i++) {
        int wstatus = 0;
        pid_t got = waitpid(pid, &wstatus, WNOHANG);
        if (got == pid) return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 1;
        if (got < 0) return 1;
        nanosleep(&ms, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

int main(int argc, char **argv) {
    char err[LCM_ERROR_SIZE];
    if (argc != 3 || lcm_configure("endpoint", argv[2], err, sizeof err) != LCM_OK ||
        lcm_configure("outbox_mode", "always", err, sizeof err) != LCM_OK ||
        lcm_configure("outbox_retry_ms", "0", err, sizeof err) != LCM_OK ||
        lcm_configure("outbox", argv[1], err, sizeof err) != LCM_OK) {
        fprintf(stderr, "usage: outbox_fork_busy OUTBOX ENDPOINT (%s)\n", err);
        return 2;
    }
    pthread_t threads[THREADS];
    for (size_t i = 0; i < THREADS; i++)
        if (pthread_create(&threads[i], NULL, keep_queueing, (void *)i) != 0) return 3;
    int hung = 0, failed = 0, refused = 0;
    for (int n = 0; n < FORKS; n++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 3;
        }
        if (pid == 0) _exit(child(n));
        int how = reap(pid);
        hung += how == -1;
        refused += how == 4;
        failed += how != 0 && how != 4 && how != -1;
        /* Time for the threads to get going again, so that the forks land at other
         * points of their work (the fork itself holds malloc's locks, stopping them). */
        struct timespec gap = {0, (n % 5 + 1) * 1000L * 1000L};
        nanosleep(&gap, NULL);
    }
    stop = 1;
    for (size_t i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    printf("forks %d hung %d failed %d, refused %d (forked mid-use), while %ld and %ld outcomes "
           "were queued\n",
           FORKS, hung, failed, refused, queued[0], queued[1]);
    size_t pending = 1;
    lcm_status st = lcm_outbox_flush(60000, NULL, &pending, NULL, err, sizeof err);
    if (st != LCM_OK || pending != 0) {
        fprintf(stderr, "flush: %s, %zu pending: %s\n", lcm_status_name(st), pending, err);
        return 1;
    }
    return hung || failed || thread_failed;
}

/*
 * fork() while other threads of the parent are using an outbox.
 *
 * THREADS threads keep setting outcomes through one client, BUSY (outbox_mode always,
 * so each is a commit to the file BUSY_OUTBOX), while the main thread forks FORKS
 * children one after the other. The default client has another outbox, IDLE_OUTBOX,
 * which nobody uses meanwhile. Each child counts both outboxes, each through a
 * database connection of its own: the idle one must be counted; the busy one is
 * counted, or refused when a thread of the parent was in the middle of using it at
 * fork(). A child forked while another thread held a lock inside the library or
 * SQLite would wait for it forever: the parent gives each child CHILD_SECONDS, then
 * kills it and counts it as hung. At the end the parent delivers what the threads
 * queued to ENDPOINT.
 *
 * Each thread cycles over five call ids of its own (latest wins), so that what is
 * left to deliver stays small however long the forking takes.
 *
 * Usage: outbox_fork_busy BUSY_OUTBOX IDLE_OUTBOX ENDPOINT
 * Prints "forks N hung H failed F, refused R ..."; exit 0 when no child hung or
 * failed and everything was delivered.
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

static lcm_client *busy;
static volatile sig_atomic_t stop = 0;
static int thread_failed = 0;
static long queued[THREADS];

static void *keep_queueing(void *which) {
    char err[LCM_ERROR_SIZE], id[32], outcome[32];
    for (long i = 0; !stop; i++) {
        snprintf(id, sizeof id, "busy-%zu-%ld", (size_t)which, i % 5);
        snprintf(outcome, sizeof outcome, "%ld", i);
        lcm_status st = lcm_client_set_outcome(busy, id, "5|3|1|0|0|44|1", outcome, 0,
                                               "testagent", "fork test", 0, err, sizeof err);
        if (st != LCM_QUEUED) {
            fprintf(stderr, "%s: %s: %s\n", id, lcm_status_name(st), err);
            thread_failed = 1;
            return NULL;
        }
        queued[(size_t)which]++;
    }
    return NULL;
}

/* Exits 0 when both outboxes were counted, 4 when the busy one was refused as
 * documented, 1 otherwise. (A read never waits for the parent's writes in WAL mode.) */
static int child(int n) {
    char err[LCM_ERROR_SIZE];
    size_t pending = 0;
    lcm_status st = lcm_outbox_count(&pending, NULL, err, sizeof err);
    if (st != LCM_OK) {
        fprintf(stderr, "child %d: idle outbox: %s: %s\n", n, lcm_status_name(st), err);
        return 1;
    }
    st = lcm_client_outbox_count(busy, &pending, NULL, err, sizeof err);
    if (st == LCM_ERR_CONFIG && strstr(err, "forked while another thread") != NULL) return 4;
    if (st != LCM_OK) {
        fprintf(stderr, "child %d: busy outbox: %s: %s\n", n, lcm_status_name(st), err);
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

static int configure(lcm_client *c, const char *key, const char *value) {
    char err[LCM_ERROR_SIZE];
    lcm_status st = c ? lcm_client_configure(c, key, value, err, sizeof err)
                      : lcm_configure(key, value, err, sizeof err);
    if (st != LCM_OK) fprintf(stderr, "configure %s: %s\n", key, err);
    return st != LCM_OK;
}

int main(int argc, char **argv) {
    char err[LCM_ERROR_SIZE];
    busy = lcm_client_new(err, sizeof err);
    if (argc != 4 || busy == NULL) {
        fprintf(stderr, "usage: outbox_fork_busy BUSY_OUTBOX IDLE_OUTBOX ENDPOINT\n");
        return 2;
    }
    if (configure(busy, "endpoint", argv[3]) || configure(busy, "outbox_mode", "always") ||
        configure(busy, "outbox_retry_ms", "0") || configure(busy, "outbox", argv[1]) ||
        configure(NULL, "outbox_retry_ms", "0") || configure(NULL, "outbox", argv[2]))
        return 2;
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
    printf("forks %d hung %d failed %d, refused %d (the busy outbox, forked mid-use), while "
           "%ld and %ld outcomes were queued\n",
           FORKS, hung, failed, refused, queued[0], queued[1]);
    size_t pending = 1;
    lcm_status st = lcm_client_outbox_flush(busy, 60000, NULL, &pending, NULL, err, sizeof err);
    if (st != LCM_OK || pending != 0) {
        fprintf(stderr, "flush: %s, %zu pending: %s\n", lcm_status_name(st), pending, err);
        return 1;
    }
    return hung || failed || thread_failed;
}

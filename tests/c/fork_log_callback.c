/*
 * A pre-forking dialer that installs its log callback in the parent and replaces it
 * in a worker: in the child, lcm_set_log_callback() must still wait until the
 * child's own threads have left the old callback, so that the worker may free what
 * the callback uses.
 *
 * The child's sending thread holds the callback (its first line) until the main
 * thread has started replacing it; the replacement must not return before that line
 * is done. A library that did not wait would return while the line is held, and the
 * check after it would see "not finished".
 *
 * Usage: fork_log_callback ENDPOINT. Exit 0 when the replacement waited.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lcm_outcome.h"

static atomic_int entered, finished;

static void hold_first_line(int32_t level, const char *message, void *user) {
    (void)level, (void)message, (void)user;
    if (atomic_exchange(&entered, 1) == 0) {
        /* Long enough for the replacement to return early if it did not wait. */
        struct timespec pause = {0, 300 * 1000 * 1000};
        nanosleep(&pause, NULL);
        atomic_store(&finished, 1);
    }
}

static void *send_one(void *arg) {
    (void)arg;
    char err[LCM_ERROR_SIZE];
    lcm_set_outcome("fork-log", "5|3|1|0|0|44|1", "1", 0, "testagent", "", 0, err, sizeof err);
    return NULL;
}

static int run_child(void) {
    pthread_t sender;
    if (pthread_create(&sender, NULL, send_one, NULL) != 0) return 2;
    while (!atomic_load(&entered)) sched_yield();
    lcm_set_log_callback(NULL, NULL);
    int waited = atomic_load(&finished);
    pthread_join(sender, NULL);
    if (!waited) fprintf(stderr, "child: the replacement returned while the callback ran\n");
    return waited ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    char err[LCM_ERROR_SIZE];
    if (lcm_configure("endpoint", argv[1], err, sizeof err) != LCM_OK ||
        lcm_configure("proxy", "none", err, sizeof err) != LCM_OK ||
        lcm_configure("log_level", "debug", err, sizeof err) != LCM_OK) {
        fprintf(stderr, "configure: %s\n", err);
        return 2;
    }
    lcm_set_log_callback(hold_first_line, NULL);
    pid_t child = fork();
    if (child < 0) return 2;
    if (child == 0) _exit(run_child());
    int status = 0;
    if (waitpid(child, &status, 0) != child) return 2;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

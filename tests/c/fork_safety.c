/*
 * A pre-forking dialer: one call in the parent (which leaves a pooled keep-alive
 * connection behind), fork(), then the child sends from several threads at once,
 * then the parent sends again. The child must open its own connections rather than
 * write into the parent's socket, and its threads must not trip over each other
 * while the child's fresh pool is being set up.
 *
 * The order is fixed so that the result is deterministic: with a shared socket the
 * calls could all still succeed one after the other over one connection, which the
 * test detects by counting the connections the server accepted.
 *
 * Usage: fork_safety ENDPOINT. Exit 0 when every outcome was confirmed.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lcm_outcome.h"

#define CHILD_THREADS 4

static int send_one(const char *call_id) {
    char err[LCM_ERROR_SIZE];
    lcm_status st = lcm_set_outcome(call_id, "5|3|1|0|0|44|1", "1", 0, "testagent",
                                    "fork test", 0, err, sizeof err);
    if (st != LCM_OK) {
        fprintf(stderr, "%s: %s: %s\n", call_id, lcm_status_name(st), err);
        return 1;
    }
    return 0;
}

static void *child_thread(void *arg) {
    static const char *ids[CHILD_THREADS] = {"child-0", "child-1", "child-2", "child-3"};
    return (void *)(size_t)send_one(ids[(size_t)arg]);
}

static int run_child(void) {
    pthread_t threads[CHILD_THREADS];
    int failed = 0;
    for (size_t i = 0; i < CHILD_THREADS; i++)
        if (pthread_create(&threads[i], NULL, child_thread, (void *)i) != 0) return 1;
    for (size_t i = 0; i < CHILD_THREADS; i++) {
        void *result = NULL;
        pthread_join(threads[i], &result);
        failed |= result != NULL;
    }
    return failed;
}

int main(int argc, char **argv) {
    char err[LCM_ERROR_SIZE];
    if (argc != 2 || lcm_configure("endpoint", argv[1], err, sizeof err) != LCM_OK) {
        fprintf(stderr, "usage: fork_safety ENDPOINT\n");
        return 2;
    }
    if (send_one("before-fork") != 0) return 1;

    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 3;
    }
    if (child == 0) _exit(run_child());

    int wstatus = 0;
    if (waitpid(child, &wstatus, 0) != child) return 3;
    int failed = !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0;
    return send_one("parent") != 0 || failed;
}

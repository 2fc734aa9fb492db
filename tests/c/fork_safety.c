/*
 * A pre-forking dialer: one call in the parent (which leaves a pooled keep-alive
 * connection behind), fork(), the child sends, then the parent sends. The child must
 * open its own connection rather than write into the parent's socket. The order is
 * fixed so that the outcome is deterministic: with a shared socket both calls would
 * still succeed, one after the other, over one connection, which the test detects by
 * counting the connections the server accepted.
 *
 * Usage: fork_safety ENDPOINT. Exit 0 when all three outcomes were confirmed.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lcm_outcome.h"

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
    if (child == 0) _exit(send_one("child"));

    int wstatus = 0;
    if (waitpid(child, &wstatus, 0) != child) return 3;
    int failed = !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0;
    return send_one("parent") != 0 || failed;
}

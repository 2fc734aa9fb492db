/*
 * A parent that frees its client while its forked child still uses the outbox.
 *
 * The parent queues one outcome (the client's connection to the file is open), forks,
 * and the child queues "child-before". Then the parent frees its client, closing its
 * connection: SQLite checkpoints and deletes the write-ahead log when it finds no
 * other process using the file, which it must not find while the child has it open.
 * The child then queues "child-after" and exits without freeing anything, as a
 * dialer's child that is killed would. The test reads the file afterwards: all
 * three outcomes must be in it.
 *
 * Usage: outbox_fork_close OUTBOX
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lcm_outcome.h"

static int queue(lcm_client *c, const char *call_id) {
    char err[LCM_ERROR_SIZE];
    lcm_status st = lcm_client_set_outcome(c, call_id, "5|3|1|0|0|44|1", "1", 0, "testagent",
                                           "fork test", 0, err, sizeof err);
    if (st != LCM_QUEUED) {
        fprintf(stderr, "%s: %s: %s\n", call_id, lcm_status_name(st), err);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    char err[LCM_ERROR_SIZE];
    lcm_client *c = lcm_client_new(err, sizeof err);
    if (argc != 2 || c == NULL ||
        lcm_client_configure(c, "endpoint", "http://127.0.0.1:9/lcm", err, sizeof err) ||
        lcm_client_configure(c, "outbox_mode", "always", err, sizeof err) ||
        lcm_client_configure(c, "outbox_retry_ms", "0", err, sizeof err) ||
        lcm_client_configure(c, "outbox", argv[1], err, sizeof err)) {
        fprintf(stderr, "usage: outbox_fork_close OUTBOX (%s)\n", err);
        return 2;
    }
    if (queue(c, "parent") != 0) return 1;
    int to_child[2], to_parent[2];
    if (pipe(to_child) != 0 || pipe(to_parent) != 0) return 3;
    pid_t child = fork();
    if (child < 0) return 3;
    if (child == 0) {
        char go;
        if (queue(c, "child-before") != 0) _exit(1);
        if (write(to_parent[1], "q", 1) != 1 || read(to_child[0], &go, 1) != 1) _exit(3);
        _exit(queue(c, "child-after"));
    }
    char queued;
    if (read(to_parent[0], &queued, 1) != 1) return 3;
    lcm_client_free(c);
    if (write(to_child[1], "g", 1) != 1) return 3;
    int wstatus = 0;
    if (waitpid(child, &wstatus, 0) != child) return 3;
    return !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0;
}

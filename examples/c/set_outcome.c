/*
 * Records one telephony outcome in LCM through liblcm_outcome.
 *
 *   cc -I include examples/c/set_outcome.c -L target/debug -Wl,-rpath,"$PWD/target/debug" \
 *      -llcm_outcome -o set_outcome
 *   ./set_outcome http://127.0.0.1:8080/lcm        (or set LCM_ENDPOINT and omit it)
 *
 * With LCM_OUTBOX=/var/spool/dialer/outbox.db in the environment, an outcome that LCM
 * does not confirm now (LCM down, a timeout, a 5xx) is stored in that file and
 * delivered later by the library: lcm_set_outcome returns LCM_QUEUED.
 *
 * Exit status: 0 when LCM confirmed the outcome or the outbox holds it, 1 when
 * neither, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lcm_outcome.h"

/* LCM_QUEUED is no failure: the outcome is the library's to deliver from now on. Its
 * message names the entry ("... as entry N, to be delivered later; why"). */
static void print_queued(const char *call_id, const char *message) {
    unsigned long long entry;
    const char *at = strstr(message, "' as entry ");
    if (at != NULL && sscanf(at, "' as entry %llu", &entry) == 1) {
        printf("LCM_QUEUED: call %s queued as entry %llu, will be delivered later\n",
               call_id, entry);
    } else {
        printf("LCM_QUEUED: call %s queued, will be delivered later: %s\n", call_id, message);
    }
}

int main(int argc, char **argv) {
    char err[LCM_ERROR_SIZE];
    const char *call_id = argc > 2 ? argv[2] : "12345";

    if (argc > 1 && lcm_configure("endpoint", argv[1], err, sizeof err) != LCM_OK) {
        fprintf(stderr, "bad endpoint: %s\n", err);
        return 2;
    }
    lcm_status status = lcm_set_outcome(call_id, "5|3|1|0|0|44|1", "1", 0, "testagent",
                                        "Test comment", 0, err, sizeof err);
    if (status == LCM_QUEUED) {
        print_queued(call_id, err);
        return 0;
    }
    if (status != LCM_OK) {
        fprintf(stderr, "%s: %s\n", lcm_status_name(status), err);
        return 1;
    }
    printf("LCM_OK: LCM recorded the outcome of call %s (lcm-outcome %s)\n", call_id,
           lcm_version());
    return 0;
}

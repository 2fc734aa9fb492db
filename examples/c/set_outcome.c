/*
 * Records one telephony outcome in LCM through liblcm_outcome.
 *
 *   cc -I include examples/c/set_outcome.c -L target/debug -Wl,-rpath,"$PWD/target/debug" \
 *      -llcm_outcome -o set_outcome
 *   ./set_outcome http://127.0.0.1:8080/lcm        (or set LCM_ENDPOINT and omit it)
 *
 * Exit status: 0 when LCM confirmed the outcome, 1 when it did not, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lcm_outcome.h"

int main(int argc, char **argv) {
    char err[LCM_ERROR_SIZE];
    const char *call_id = argc > 2 ? argv[2] : "12345";

    if (argc > 1 && lcm_configure("endpoint", argv[1], err, sizeof err) != LCM_OK) {
        fprintf(stderr, "bad endpoint: %s\n", err);
        return 2;
    }
    lcm_status status = lcm_set_outcome(call_id, "5|3|1|0|0|44|1", "1", 0, "testagent",
                                        "Test comment", 0, err, sizeof err);
    if (status != LCM_OK) {
        fprintf(stderr, "%s: %s\n", lcm_status_name(status), err);
        return 1;
    }
    printf("LCM_OK: LCM recorded the outcome of call %s (lcm-outcome %s)\n", call_id,
           lcm_version());
    return 0;
}

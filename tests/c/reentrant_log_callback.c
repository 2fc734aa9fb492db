/*
 * A log callback that configures the library, receiving the error line about a bad
 * LCM_<KEY> variable that the default client logs when it is created. The callback
 * runs while the first lcm_configure() is under way; its own lcm_configure() must
 * not wait for that creation to finish (it would wait forever).
 *
 * Usage: LCM_TIMEOUT_MS=soon reentrant_log_callback. Exit 0 when every call
 * returned and the callback saw the error line.
 */
#include <stdio.h>
#include <string.h>

#include "lcm_outcome.h"

static int errors_seen;

static void configure_from_callback(int32_t level, const char *message, void *user) {
    (void)user;
    if (level == LCM_LOG_ERROR && strstr(message, "LCM_TIMEOUT_MS") != NULL) {
        char err[LCM_ERROR_SIZE];
        errors_seen++;
        if (lcm_configure("timeout_ms", "5000", err, sizeof err) != LCM_OK)
            fprintf(stderr, "configure from the callback: %s\n", err);
    }
}

int main(void) {
    char err[LCM_ERROR_SIZE];
    lcm_set_log_callback(configure_from_callback, NULL);
    if (lcm_configure("source", "reentrant-test", err, sizeof err) != LCM_OK) {
        fprintf(stderr, "configure: %s\n", err);
        return 1;
    }
    if (errors_seen != 1) {
        fprintf(stderr, "the callback saw %d error lines about LCM_TIMEOUT_MS\n", errors_seen);
        return 1;
    }
    return 0;
}

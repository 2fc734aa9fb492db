/*
 * Every function of the C API, used the way a careful C program uses it: versions
 * and status names, an independent client from several threads, the default client,
 * argument errors, small and absent error buffers, and the log callback. The Rust
 * test runs it directly and under valgrind (zero errors, zero leaks).
 *
 * Usage: api_tour ENDPOINT. Prints "api_tour: N checks passed" and exits 0 when
 * every check held; otherwise names each failed check on stderr and exits 1.
 * After its last call it restores stderr logging and makes one more call at
 * log_level debug, so that the caller can see where that line went.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lcm_outcome.h"

#define SECRET "Bearer SECRET-TOKEN-77"
#define COMMENT "PRIVATE-COMMENT-9"
#define THREADS 4
#define CALLS_PER_THREAD 5

static int checks, failures;

static void check(int ok, const char *what) {
    checks++;
    if (!ok) {
        failures++;
        fprintf(stderr, "api_tour: FAILED: %s\n", what);
    }
}

/* What the log callback saw; it runs on many threads at once. */
struct captured {
    pthread_mutex_t lock;
    int lines, trace_lines, secret_seen, comment_outside_trace, bad_level;
};

static void on_log(int32_t level, const char *message, void *user) {
    struct captured *cap = user;
    pthread_mutex_lock(&cap->lock);
    cap->lines++;
    cap->trace_lines += level == LCM_LOG_TRACE;
    cap->secret_seen += strstr(message, "SECRET-TOKEN-77") != NULL;
    cap->comment_outside_trace += level != LCM_LOG_TRACE && strstr(message, COMMENT) != NULL;
    cap->bad_level += level < LCM_LOG_ERROR || level > LCM_LOG_TRACE;
    pthread_mutex_unlock(&cap->lock);
}

static lcm_status send_with(lcm_client *client, const char *call_id, char *err, size_t len) {
    return lcm_client_set_outcome(client, call_id, "5|3|1|0|0|44|1", "1", 0, "testagent",
                                  COMMENT, 12.5, err, len);
}

static void *sender(void *arg) {
    lcm_client *client = arg;
    char err[LCM_ERROR_SIZE];
    size_t failed = 0;
    for (int i = 0; i < CALLS_PER_THREAD; i++)
        failed += send_with(client, "12345", err, sizeof err) != LCM_OK;
    return (void *)failed;
}

static int configure(lcm_client *client, const char *key, const char *value) {
    char err[LCM_ERROR_SIZE];
    lcm_status st = lcm_client_configure(client, key, value, err, sizeof err);
    if (st != LCM_OK) fprintf(stderr, "api_tour: configure %s: %s\n", key, err);
    return st == LCM_OK;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: api_tour ENDPOINT\n");
        return 2;
    }
    const char *endpoint = argv[1];
    char err[LCM_ERROR_SIZE];

    check(strcmp(lcm_version(), LCM_OUTCOME_VERSION_STRING) == 0, "lcm_version() matches the header");
    check(strcmp(lcm_status_name(LCM_OK), "LCM_OK") == 0, "name of LCM_OK");
    check(strcmp(lcm_status_name(LCM_ERR_INTERNAL), "LCM_ERR_INTERNAL") == 0, "name of LCM_ERR_INTERNAL");
    check(strcmp(lcm_status_name(-1), "LCM_UNKNOWN_STATUS") == 0, "name of an unknown status");

    struct captured cap;
    memset(&cap, 0, sizeof cap);
    pthread_mutex_init(&cap.lock, NULL);
    lcm_set_log_callback(on_log, &cap);

    lcm_client *client = lcm_client_new(err, sizeof err);
    check(client != NULL, "lcm_client_new");
    if (!client) return 1;
    check(configure(client, "endpoint", endpoint), "configure endpoint");
    check(configure(client, "proxy", "none"), "configure proxy");
    check(configure(client, "auth", SECRET), "configure auth");
    check(configure(client, "log_level", "trace"), "configure log_level");

    lcm_status st = lcm_client_configure(client, "colour", "blue", err, sizeof err);
    check(st == LCM_ERR_CONFIG && strstr(err, "colour") != NULL, "an unknown key is named");
    st = lcm_client_configure(client, "timeout_ms", NULL, err, sizeof err);
    check(st == LCM_ERR_INVALID_ARGUMENT && strstr(err, "value") != NULL, "a NULL value is named");

    st = send_with(client, "12345", err, sizeof err);
    check(st == LCM_OK && err[0] == '\0', "a call succeeds and leaves \"\" in the buffer");
    st = send_with(client, NULL, err, sizeof err);
    check(st == LCM_ERR_INVALID_ARGUMENT && strstr(err, "call_id") != NULL, "a NULL call_id is named");
    st = lcm_client_set_outcome(client, "12345", "5|3|1|0|0|44|1", "1", NAN, "testagent", "",
                                0, err, sizeof err);
    check(st == LCM_ERR_INVALID_ARGUMENT && strstr(err, "lead_score") != NULL, "NaN is refused");
    st = lcm_client_set_outcome(client, "12345", "5|3|1|0|0|44|1", "1", 0, "\xff\xfe", "", 0, err,
                                sizeof err);
    check(st == LCM_ERR_INVALID_ARGUMENT && strstr(err, "user_id") != NULL, "invalid UTF-8 is named");

    char small[8];
    memset(small, 'x', sizeof small);
    st = send_with(client, "", small, sizeof small);
    check(st == LCM_ERR_INVALID_ARGUMENT && memchr(small, '\0', sizeof small) != NULL,
          "a small buffer is cut and terminated");
    check(send_with(client, "", NULL, 0) == LCM_ERR_INVALID_ARGUMENT, "no buffer at all");

    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, sender, client);
    size_t thread_failures = 0;
    for (int i = 0; i < THREADS; i++) {
        void *failed = NULL;
        pthread_join(threads[i], &failed);
        thread_failures += (size_t)failed;
    }
    check(thread_failures == 0, "calls from several threads on one client");
    lcm_client_free(client);
    client = NULL; /* so that valgrind would see a client the library failed to free as lost */
    lcm_client_free(client);

    check(lcm_configure("endpoint", endpoint, err, sizeof err) == LCM_OK, "default endpoint");
    check(lcm_configure("proxy", "none", err, sizeof err) == LCM_OK, "default proxy");
    st = lcm_set_outcome("12345", "5|3|1|0|0|44|1", "1", 0, "testagent", COMMENT, 0, err, sizeof err);
    check(st == LCM_OK, "the default client");

    pthread_mutex_lock(&cap.lock);
    check(cap.lines > 0 && cap.trace_lines > 0, "the callback received lines, trace included");
    check(cap.secret_seen == 0, "the auth value never reached the callback");
    check(cap.comment_outside_trace == 0, "agent comments only at trace");
    check(cap.bad_level == 0, "levels are LCM_LOG_ERROR..LCM_LOG_TRACE");
    pthread_mutex_unlock(&cap.lock);

    /* Back to stderr: this call's debug line is the only one the caller may see there. */
    lcm_set_log_callback(NULL, NULL);
    pthread_mutex_destroy(&cap.lock);
    check(lcm_configure("log_level", "debug", err, sizeof err) == LCM_OK, "default log_level");
    st = lcm_set_outcome("777", "5|3|1|0|0|44|1", "1", 0, "testagent", COMMENT, 0, err, sizeof err);
    check(st == LCM_OK, "a call after the callback was removed");

    printf("api_tour: %d checks passed\n", checks - failures);
    return failures ? 1 : 0;
}

/*
 * The two clients under test behind one interface: lcm-outcome's C ABI (its default
 * client, as a dialer uses it) and libcurl with one reused easy handle per thread.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* What lcm-sim answers for the sample: libcurl's answer must contain it to count. */
static const char SUCCESS_MARK[] = "\"success\":true";

const char *client_name(enum client_kind kind) {
    return kind == CLIENT_OURS ? "lcm-outcome" : "libcurl";
}

enum client_kind client_kind_from_name(const char *name) {
    if (strcmp(name, "ours") == 0 || strcmp(name, "lcm-outcome") == 0)
        return CLIENT_OURS;
    if (strcmp(name, "curl") == 0 || strcmp(name, "libcurl") == 0)
        return CLIENT_CURL;
    fprintf(stderr, "vs_curl: unknown client '%s' (ours or curl)\n", name);
    exit(2);
}

static void configure_ours(const char *key, const char *value) {
    char err[LCM_ERROR_SIZE];
    if (lcm_configure(key, value, err, sizeof err) != LCM_OK) {
        fprintf(stderr, "vs_curl: lcm_configure(%s): %s\n", key, err);
        exit(1);
    }
}

void clients_global_init(const char *endpoint) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "vs_curl: curl_global_init failed\n");
        exit(1);
    }
    configure_ours("endpoint", endpoint);
    /* Like libcurl's CURLOPT_PROXY "" below: a proxy in the environment must not
     * put a hop between one client and the server and not the other. */
    configure_ours("proxy", "none");
}

static size_t collect_answer(char *data, size_t size, size_t count, void *user) {
    struct client *c = user;
    size_t n = size * count;
    if (c->answer_len + n + 1 > c->answer_cap) {
        size_t cap = c->answer_cap ? c->answer_cap : 512;
        while (cap < c->answer_len + n + 1)
            cap *= 2;
        char *grown = realloc(c->answer, cap);
        if (!grown)
            return 0; /* libcurl then fails the transfer with CURLE_WRITE_ERROR */
        c->answer = grown;
        c->answer_cap = cap;
    }
    memcpy(c->answer + c->answer_len, data, n);
    c->answer_len += n;
    c->answer[c->answer_len] = '\0';
    return n;
}

static void append_header(struct client *c, const char *line) {
    struct curl_slist *more = curl_slist_append(c->headers, line);
    if (!more) {
        fprintf(stderr, "vs_curl: out of memory\n");
        exit(1);
    }
    c->headers = more;
}

/* "HOST:PORT" of "http://HOST:PORT/path". */
static void authority_of(const char *endpoint, char *out, size_t out_len) {
    const char *start = strstr(endpoint, "://");
    start = start ? start + 3 : endpoint;
    size_t len = strcspn(start, "/?#");
    if (len >= out_len) {
        fprintf(stderr, "vs_curl: endpoint '%s' is too long\n", endpoint);
        exit(2);
    }
    memcpy(out, start, len);
    out[len] = '\0';
}

/*
 * libcurl gets lcm-outcome's header lines, in its order and spelling, as custom
 * headers: a custom Host, Accept, Content-Type or Content-Length replaces libcurl's
 * own, so both clients put the same bytes on the wire (checked by `vs_curl wire`).
 */
static void open_curl(struct client *c, const char *endpoint) {
    static const char body[] = SAMPLE_BODY;
    char line[512], authority[256];
    authority_of(endpoint, authority, sizeof authority);
    c->easy = curl_easy_init();
    if (!c->easy) {
        fprintf(stderr, "vs_curl: curl_easy_init failed\n");
        exit(1);
    }
    snprintf(line, sizeof line, "content-length: %zu", sizeof body - 1);
    append_header(c, line);
    snprintf(line, sizeof line, "user-agent: lcm-outcome/%s", lcm_version());
    append_header(c, line);
    snprintf(line, sizeof line, "host: %s", authority);
    append_header(c, line);
    append_header(c, "content-type: application/json");
    append_header(c, "accept: application/json");

    CURLcode rc = CURLE_OK;
#define SET(option, value) \
    if (rc == CURLE_OK)    \
    rc = curl_easy_setopt(c->easy, option, value)
    SET(CURLOPT_URL, endpoint);
    SET(CURLOPT_POSTFIELDS, body);
    SET(CURLOPT_POSTFIELDSIZE, (long)(sizeof body - 1));
    SET(CURLOPT_HTTPHEADER, c->headers);
    SET(CURLOPT_WRITEFUNCTION, collect_answer);
    SET(CURLOPT_WRITEDATA, c);
    SET(CURLOPT_ERRORBUFFER, c->err);
    SET(CURLOPT_PROXY, "");
    /* lcm-outcome's defaults: 10 s per call, 3 s to connect. */
    SET(CURLOPT_TIMEOUT_MS, 10000L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    /* Threads: no SIGALRM-based timeouts. */
    SET(CURLOPT_NOSIGNAL, 1L);
#undef SET
    if (rc != CURLE_OK) {
        fprintf(stderr, "vs_curl: curl_easy_setopt: %s\n", curl_easy_strerror(rc));
        exit(1);
    }
}

void client_open(struct client *c, enum client_kind kind, const char *endpoint) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    if (kind == CLIENT_CURL)
        open_curl(c, endpoint);
}

static int call_curl(struct client *c) {
    c->answer_len = 0;
    c->err[0] = '\0';
    CURLcode rc = curl_easy_perform(c->easy);
    if (rc != CURLE_OK) {
        if (!c->err[0])
            snprintf(c->err, sizeof c->err, "%s", curl_easy_strerror(rc));
        return 1;
    }
    long status = 0, connects = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &connects);
    c->connects += connects;
    if (status != 200 || !c->answer || !strstr(c->answer, SUCCESS_MARK)) {
        snprintf(c->err, sizeof c->err, "HTTP %ld, answer '%.200s'", status,
                 c->answer ? c->answer : "");
        return 1;
    }
    return 0;
}

int client_call(struct client *c) {
    if (c->kind == CLIENT_CURL)
        return call_curl(c);
    lcm_status st = lcm_set_outcome(SAMPLE_CALL_ID, SAMPLE_ACCOUNT, SAMPLE_OUTCOME,
                                    SAMPLE_LEAD_SCORE, SAMPLE_USER, SAMPLE_COMMENTS,
                                    SAMPLE_TARGET, c->err, sizeof c->err);
    return st == LCM_OK ? 0 : 1;
}

void client_close(struct client *c) {
    if (c->easy)
        curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    free(c->answer);
    memset(c, 0, sizeof *c);
}

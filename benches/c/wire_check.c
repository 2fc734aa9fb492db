/*
 * `vs_curl wire`: proves that the comparison is fair. Each client sends the sample
 * request to a private listener on loopback, which keeps the bytes it received and
 * answers as lcm-sim would. The captures must be byte-identical, or differ only in the
 * order of header lines and the case of header names: libcurl always writes its Host
 * line first, as "Host:", even when given one. Same length, same meaning, same work.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define CAPTURE_MAX 8192

static const char ANSWER_BODY[] =
    "{\"channel\":\"LCM\",\"topic\":\"WebService\",\"subtopic\":"
    "\"SetCallOutcomeWithCommentsResult\",\"message\":{\"callid\":\"12345\","
    "\"response\":{\"success\":true}}}";

struct capture {
    int listener;
    char bytes[CAPTURE_MAX];
    size_t len;
    int ok;
};

/* Content-Length of a request head, or -1. */
static long content_length(const char *head, size_t head_len) {
    const char *p = head;
    const char *end = head + head_len;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            break;
        if ((size_t)(eol - p) > 15 && strncasecmp(p, "content-length:", 15) == 0)
            return strtol(p + 15, NULL, 10);
        p = eol + 2;
    }
    return -1;
}

/* Accepts one connection, reads one request whole, answers it and closes. */
static void *serve_one(void *arg) {
    struct capture *cap = arg;
    int fd = accept(cap->listener, NULL, NULL);
    if (fd < 0)
        return NULL;
    size_t want = 0;
    while (cap->len < CAPTURE_MAX && (want == 0 || cap->len < want)) {
        ssize_t n = read(fd, cap->bytes + cap->len, CAPTURE_MAX - cap->len);
        if (n <= 0)
            break;
        cap->len += (size_t)n;
        char *head_end = memmem(cap->bytes, cap->len, "\r\n\r\n", 4);
        if (want == 0 && head_end) {
            size_t head_len = (size_t)(head_end - cap->bytes) + 4;
            long body_len = content_length(cap->bytes, head_len);
            want = head_len + (size_t)(body_len > 0 ? body_len : 0);
        }
    }
    char answer[1024];
    int n = snprintf(answer, sizeof answer,
                     "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                     "content-length: %zu\r\n\r\n%s",
                     sizeof ANSWER_BODY - 1, ANSWER_BODY);
    cap->ok = want != 0 && cap->len == want && write(fd, answer, (size_t)n) == n;
    close(fd);
    return NULL;
}

static int capture_one(int listener, const char *endpoint, enum client_kind kind,
                       struct capture *cap) {
    memset(cap, 0, sizeof *cap);
    cap->listener = listener;
    pthread_t server;
    if (pthread_create(&server, NULL, serve_one, cap) != 0) {
        fprintf(stderr, "vs_curl wire: pthread_create failed\n");
        return 1;
    }
    struct client c;
    client_open(&c, kind, endpoint);
    int failed = client_call(&c);
    if (failed)
        fprintf(stderr, "vs_curl wire: %s failed: %s\n", client_name(kind), c.err);
    client_close(&c);
    pthread_join(server, NULL);
    return failed || !cap->ok;
}

static void print_capture(const char *who, const struct capture *cap) {
    fprintf(stderr, "--- %s sent %zu bytes:\n%.*s\n", who, cap->len, (int)cap->len,
            cap->bytes);
}

/* The header lines of a request (request line and body excluded), each with its name
 * lower-cased, sorted: equal for two requests that differ only in header order and
 * name case. Returns the number of lines, at most `max`. */
#define MAX_LINES 64
static size_t normal_header_lines(const struct capture *cap, char lines[][256], size_t max) {
    const char *p = cap->bytes, *end = cap->bytes + cap->len;
    const char *head_end = memmem(p, cap->len, "\r\n\r\n", 4);
    size_t n = 0;
    p = memmem(p, cap->len, "\r\n", 2); /* past the request line */
    while (p && head_end && p < head_end && n < max) {
        p += 2;
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        size_t len = (size_t)(eol - p) < 255 ? (size_t)(eol - p) : 255;
        int in_name = 1;
        for (size_t i = 0; i < len; i++) {
            if (p[i] == ':')
                in_name = 0;
            lines[n][i] = in_name ? (char)tolower((unsigned char)p[i]) : p[i];
        }
        lines[n++][len] = '\0';
        p = eol;
    }
    qsort(lines, n, sizeof lines[0], (int (*)(const void *, const void *))strcmp);
    return n;
}

/* Same request line, same body, same header lines but for order and name case. */
static int equivalent(const struct capture *a, const struct capture *b) {
    static char la[MAX_LINES][256], lb[MAX_LINES][256];
    const char *ha = memmem(a->bytes, a->len, "\r\n\r\n", 4);
    const char *hb = memmem(b->bytes, b->len, "\r\n\r\n", 4);
    size_t line_a = strcspn(a->bytes, "\r"), line_b = strcspn(b->bytes, "\r");
    if (a->len != b->len || !ha || !hb || ha - a->bytes != hb - b->bytes ||
        line_a != line_b || memcmp(a->bytes, b->bytes, line_a) != 0 ||
        memcmp(ha, hb, a->len - (size_t)(ha - a->bytes)) != 0)
        return 0;
    size_t na = normal_header_lines(a, la, MAX_LINES);
    size_t nb = normal_header_lines(b, lb, MAX_LINES);
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (strcmp(la[i], lb[i]) != 0)
            return 0;
    return 1;
}

int wire_check(void) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(listener, 4) != 0 || getsockname(listener, (struct sockaddr *)&addr, &len)) {
        perror("vs_curl wire: listen on 127.0.0.1");
        return 1;
    }
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%u/lcm", ntohs(addr.sin_port));
    clients_global_init(endpoint);

    static struct capture ours, curl;
    int failed = capture_one(listener, endpoint, CLIENT_OURS, &ours) ||
                 capture_one(listener, endpoint, CLIENT_CURL, &curl);
    close(listener);
    if (failed)
        return 1;
    int identical = ours.len == curl.len && memcmp(ours.bytes, curl.bytes, ours.len) == 0;
    int same = identical || equivalent(&ours, &curl);
    printf("result mode=wire identical=%d equivalent=%d bytes_ours=%zu bytes_curl=%zu\n",
           identical, same, ours.len, curl.len);
    if (!same) {
        print_capture(client_name(CLIENT_OURS), &ours);
        print_capture(client_name(CLIENT_CURL), &curl);
    }
    return !same;
}

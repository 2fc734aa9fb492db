/*
 * Shared by the parts of the vs_curl benchmark driver: the two clients under test
 * behind one interface, the request they both send, and the connect() counter.
 */
#ifndef LCM_BENCH_H
#define LCM_BENCH_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "lcm_outcome.h"

/* The vendor sample's inputs: what scripts/demo and the README send. */
#define SAMPLE_CALL_ID "12345"
#define SAMPLE_ACCOUNT "5|3|1|0|0|44|1"
#define SAMPLE_OUTCOME "1"
#define SAMPLE_LEAD_SCORE 0.0
#define SAMPLE_USER "testagent"
#define SAMPLE_COMMENTS "Test comment"
#define SAMPLE_TARGET 0.0

/*
 * The body lcm-outcome builds for the inputs above (source "lcm-outcome"). Written out
 * by hand for libcurl; `vs_curl wire` proves both clients send the same bytes.
 */
#define SAMPLE_BODY                                                                      \
    "{\"channel\":\"LCM\",\"topic\":\"WebService\",\"subtopic\":"                        \
    "\"SetCallOutcomeWithComments\",\"source\":\"lcm-outcome\",\"data\":{\"callid\":"     \
    "\"12345\",\"AccountNumber\":\"5|3|1|0|0|44|1\",\"OutcomeId\":1,\"LeadScore\":0,"      \
    "\"UserID\":\"testagent\",\"AgentComments\":\"Test comment\",\"TargetAmount\":0}}"

enum client_kind { CLIENT_OURS = 0, CLIENT_CURL = 1 };
#define CLIENT_KINDS 2

/* One thread's handle on one client under test. */
struct client {
    enum client_kind kind;
    CURL *easy;                  /* libcurl only: reused, so connections are kept */
    struct curl_slist *headers;  /* libcurl only */
    char *answer;                /* libcurl only: the answer body of the last call */
    size_t answer_len, answer_cap;
    long connects;               /* libcurl only: CURLINFO_NUM_CONNECTS, summed */
    char err[LCM_ERROR_SIZE > CURL_ERROR_SIZE ? LCM_ERROR_SIZE : CURL_ERROR_SIZE];
};

const char *client_name(enum client_kind kind);
enum client_kind client_kind_from_name(const char *name); /* exits on a bad name */

/* Once per process, before any thread starts: curl_global_init, and the endpoint of
 * lcm-outcome's process-wide default client. Exits on failure. */
void clients_global_init(const char *endpoint);

/* Exits on failure: a benchmark with a broken client measures nothing. */
void client_open(struct client *c, enum client_kind kind, const char *endpoint);

/* One lcm_set_outcome() or one curl_easy_perform() of the same request, answer read
 * and checked. Returns 0 on success; otherwise the reason is in c->err. */
int client_call(struct client *c);

void client_close(struct client *c);

/* TCP connect() calls made by this process so far (connect_count.c). */
uint64_t tcp_connects(void);

/* The request each client sends, captured on a private listener (wire_check.c).
 * Returns 0 when they are byte-identical, 1 otherwise (both printed). */
int wire_check(void);

#endif

/*
 * A multi-threaded Windows dialer: THREADS native threads (CreateThread) each record
 * CALLS outcomes with call ids "t<thread>-<n>", the even threads on one shared client,
 * the odd ones on the process-wide default client, all starting at once so that the
 * default client's first use and the shared pool are raced for.
 *
 * Linked against an import library made from lcm_outcome.def, as an MSVC user makes
 * one with `lib /def:` (here MinGW's dlltool does it).
 *
 *   threads ENDPOINT      prints "threads: N calls, F failed"; exit 0 when F is 0
 */
#include <stdio.h>
#include <windows.h>

#include "lcm_outcome.h"

#define THREADS 8
#define CALLS 50

static lcm_client *shared;
static HANDLE start;
static volatile LONG failed;

static DWORD WINAPI dial(LPVOID arg) {
    int thread = (int)(INT_PTR)arg;
    WaitForSingleObject(start, INFINITE);
    for (int n = 0; n < CALLS; n++) {
        char call_id[32], err[LCM_ERROR_SIZE];
        snprintf(call_id, sizeof call_id, "t%d-%d", thread, n);
        lcm_status st =
            thread % 2 == 0
                ? lcm_client_set_outcome(shared, call_id, "5|3|1|0|0|44|1", "1", 0, "testagent",
                                         "Test comment", 0, err, sizeof err)
                : lcm_set_outcome(call_id, "5|3|1|0|0|44|1", "1", 0, "testagent",
                                  "Test comment", 0, err, sizeof err);
        if (st != LCM_OK) {
            InterlockedIncrement(&failed);
            fprintf(stderr, "threads: %s: %s: %s\n", call_id, lcm_status_name(st), err);
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    char err[LCM_ERROR_SIZE];
    if (argc != 2) {
        fprintf(stderr, "usage: threads ENDPOINT\n");
        return 2;
    }
    shared = lcm_client_new(err, sizeof err);
    if (!shared || lcm_client_configure(shared, "endpoint", argv[1], err, sizeof err) != LCM_OK ||
        lcm_client_configure(shared, "proxy", "none", err, sizeof err) != LCM_OK ||
        lcm_configure("endpoint", argv[1], err, sizeof err) != LCM_OK ||
        lcm_configure("proxy", "none", err, sizeof err) != LCM_OK) {
        fprintf(stderr, "threads: setup failed: %s\n", err);
        return 3;
    }
    start = CreateEventW(NULL, TRUE, FALSE, NULL);
    HANDLE threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        threads[t] = CreateThread(NULL, 0, dial, (LPVOID)(INT_PTR)t, 0, NULL);
        if (!threads[t]) return 3;
    }
    SetEvent(start);
    WaitForMultipleObjects(THREADS, threads, TRUE, INFINITE);
    lcm_client_free(shared);
    printf("threads: %d calls, %ld failed\n", THREADS * CALLS, failed);
    return failed ? 1 : 0;
}

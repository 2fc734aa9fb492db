/*
 * A Windows caller that binds lcm_outcome.dll at run time with LoadLibrary and
 * GetProcAddress, declaring each function's type itself, as Python's ctypes and
 * .NET's P/Invoke do. Each call is timed with QueryPerformanceCounter, so a deadline
 * is measured inside the process: Wine's start-up is not counted.
 *
 *   dynamic_caller [OPTION...] ENDPOINT [KEY=VALUE...]
 *       A new client: proxy=none, then each KEY=VALUE; sends the vendor's sample and
 *       prints one line per call: "STATUS_NAME ELAPSED_MS MESSAGE".
 *       --load=pinvoke   LoadLibraryW(L"lcm_outcome.dll"): the system's search, which
 *                        starts in the executable's folder (DllImport; the default)
 *       --load=PATH      LoadLibraryExW(PATH) searching the DLL's own folder and the
 *                        system's for its imports (ctypes.CDLL since Python 3.8)
 *       --calls=N        send N times on the one client (default 1)
 *       --stderr=none    no standard error handle at all (a service, a GUI program)
 *       --stderr=broken  standard error is a pipe whose reader is gone
 *   dynamic_caller --buffers ENDPOINT
 *       Checks the error buffer at lengths 0, 1 and LCM_ERROR_SIZE, on failure and on
 *       success; prints "buffers: N checks passed".
 *
 * Exit status: 0 when it ran (whatever the statuses), 1 when a check failed, 2 on bad
 * usage, 3 when the DLL, a function or a configure call failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "lcm_outcome.h"

typedef const char *(*version_fn)(void);
typedef const char *(*status_name_fn)(lcm_status);
typedef lcm_client *(*client_new_fn)(char *, size_t);
typedef lcm_status (*client_configure_fn)(lcm_client *, const char *, const char *, char *,
                                          size_t);
typedef lcm_status (*client_set_outcome_fn)(lcm_client *, const char *, const char *,
                                            const char *, double, const char *, const char *,
                                            double, char *, size_t);
typedef void (*client_free_fn)(lcm_client *);

static struct {
    version_fn version;
    status_name_fn status_name;
    client_new_fn client_new;
    client_configure_fn client_configure;
    client_set_outcome_fn client_set_outcome;
    client_free_fn client_free;
} lcm;

/* void (*)(void) is C's generic function pointer: casting through it is how a
 * FARPROC becomes a typed function (and what -Wcast-function-type accepts). */
typedef void (*any_fn)(void);

static any_fn symbol(HMODULE dll, const char *name) {
    any_fn f = (any_fn)GetProcAddress(dll, name);
    if (!f) {
        fprintf(stderr, "dynamic_caller: GetProcAddress(%s) failed: error %lu\n", name,
                GetLastError());
        exit(3);
    }
    return f;
}

static void load(const char *how) {
    HMODULE dll;
    if (strcmp(how, "pinvoke") == 0) {
        dll = LoadLibraryW(L"lcm_outcome.dll");
    } else {
        wchar_t path[MAX_PATH];
        if (!MultiByteToWideChar(CP_UTF8, 0, how, -1, path, MAX_PATH)) exit(2);
        dll = LoadLibraryExW(path, NULL,
                             LOAD_LIBRARY_SEARCH_DEFAULT_DIRS | LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR);
    }
    if (!dll) {
        fprintf(stderr, "dynamic_caller: cannot load %s: error %lu\n", how, GetLastError());
        exit(3);
    }
    lcm.version = (version_fn)symbol(dll, "lcm_version");
    lcm.status_name = (status_name_fn)symbol(dll, "lcm_status_name");
    lcm.client_new = (client_new_fn)symbol(dll, "lcm_client_new");
    lcm.client_configure = (client_configure_fn)symbol(dll, "lcm_client_configure");
    lcm.client_set_outcome = (client_set_outcome_fn)symbol(dll, "lcm_client_set_outcome");
    lcm.client_free = (client_free_fn)symbol(dll, "lcm_client_free");
    /* The default client's functions and the callback are bound too, as bindings do,
     * so that a DLL missing one fails here. */
    symbol(dll, "lcm_configure");
    symbol(dll, "lcm_set_outcome");
    symbol(dll, "lcm_set_log_callback");
}

static void configure(lcm_client *client, const char *key, const char *value) {
    char err[LCM_ERROR_SIZE];
    lcm_status st = lcm.client_configure(client, key, value, err, sizeof err);
    if (st != LCM_OK) {
        fprintf(stderr, "dynamic_caller: configure %s: %s: %s\n", key, lcm.status_name(st), err);
        exit(3);
    }
}

static lcm_client *client_for(const char *endpoint) {
    char err[LCM_ERROR_SIZE];
    lcm_client *client = lcm.client_new(err, sizeof err);
    if (!client) {
        fprintf(stderr, "dynamic_caller: lcm_client_new: %s\n", err);
        exit(3);
    }
    configure(client, "endpoint", endpoint);
    configure(client, "proxy", "none");
    return client;
}

static lcm_status send_sample(lcm_client *client, const char *call_id, char *err, size_t len) {
    return lcm.client_set_outcome(client, call_id, "5|3|1|0|0|44|1", "1", 0, "testagent",
                                  "Test comment", 0, err, len);
}

static int checks, failures;

static void check(int ok, const char *what) {
    checks++;
    if (!ok) {
        failures++;
        fprintf(stderr, "dynamic_caller: FAILED: %s\n", what);
    }
}

/* Bytes of buf from index `from` on that still hold the fill byte 'x'. */
static int untouched(const char *buf, size_t from, size_t size) {
    for (size_t i = from; i < size; i++)
        if (buf[i] != 'x') return 0;
    return 1;
}

static int buffers(const char *endpoint) {
    lcm_client *client = client_for(endpoint);
    char err[LCM_ERROR_SIZE + 8];

    check(strcmp(lcm.version(), LCM_OUTCOME_VERSION_STRING) == 0, "lcm_version() matches the header");
    check(send_sample(client, "", NULL, 0) == LCM_ERR_INVALID_ARGUMENT, "NULL buffer, length 0");
    memset(err, 'x', sizeof err);
    check(send_sample(client, "", err, 0) == LCM_ERR_INVALID_ARGUMENT && untouched(err, 0, sizeof err),
          "length 0: nothing written");
    check(send_sample(client, "", err, 1) == LCM_ERR_INVALID_ARGUMENT && err[0] == '\0' &&
              untouched(err, 1, sizeof err),
          "length 1: only the NUL");
    memset(err, 'x', sizeof err);
    check(send_sample(client, "", err, LCM_ERROR_SIZE) == LCM_ERR_INVALID_ARGUMENT &&
              strncmp(err, "call_id is empty", 16) == 0 &&
              memchr(err, '\0', LCM_ERROR_SIZE) != NULL && untouched(err, LCM_ERROR_SIZE, sizeof err),
          "length LCM_ERROR_SIZE: the whole message, within the buffer");
    memset(err, 'x', sizeof err);
    check(send_sample(client, "12345", err, 1) == LCM_OK && err[0] == '\0' &&
              untouched(err, 1, sizeof err),
          "success, length 1: \"\"");
    memset(err, 'x', sizeof err);
    check(send_sample(client, "12345", err, LCM_ERROR_SIZE) == LCM_OK && err[0] == '\0',
          "success, length LCM_ERROR_SIZE: \"\"");
    lcm.client_free(client);
    printf("buffers: %d checks passed\n", checks - failures);
    return failures ? 1 : 0;
}

/* Replaces this process's standard error handle, which Rust's std looks up on each
 * write (the C runtime's stderr keeps its own). */
static void set_stderr(const char *how) {
    if (strcmp(how, "none") == 0) {
        SetStdHandle(STD_ERROR_HANDLE, NULL);
    } else if (strcmp(how, "broken") == 0) {
        HANDLE reader, writer;
        if (!CreatePipe(&reader, &writer, NULL, 0)) exit(3);
        CloseHandle(reader);
        SetStdHandle(STD_ERROR_HANDLE, writer);
    } else {
        exit(2);
    }
}

static double milliseconds(LARGE_INTEGER from, LARGE_INTEGER to, LARGE_INTEGER frequency) {
    return (double)(to.QuadPart - from.QuadPart) * 1000.0 / (double)frequency.QuadPart;
}

int main(int argc, char **argv) {
    const char *how = "pinvoke", *stderr_mode = NULL;
    long calls = 1;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strncmp(argv[i], "--load=", 7) == 0) how = argv[i] + 7;
        else if (strncmp(argv[i], "--calls=", 8) == 0) calls = strtol(argv[i] + 8, NULL, 10);
        else if (strncmp(argv[i], "--stderr=", 9) == 0) stderr_mode = argv[i] + 9;
        else if (strcmp(argv[i], "--buffers") == 0 && i + 2 == argc) {
            load(how);
            return buffers(argv[i + 1]);
        } else break;
    }
    if (i >= argc || calls < 1) {
        fprintf(stderr, "usage: dynamic_caller [--load=pinvoke|PATH] [--calls=N] "
                        "[--stderr=none|broken] ENDPOINT [KEY=VALUE...]\n");
        return 2;
    }
    load(how);
    lcm_client *client = client_for(argv[i]);
    for (i++; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) return 2;
        *eq = '\0';
        configure(client, argv[i], eq + 1);
    }
    if (stderr_mode) set_stderr(stderr_mode);

    LARGE_INTEGER frequency, start, end;
    QueryPerformanceFrequency(&frequency);
    for (long n = 0; n < calls; n++) {
        char err[LCM_ERROR_SIZE];
        QueryPerformanceCounter(&start);
        lcm_status st = send_sample(client, "12345", err, sizeof err);
        QueryPerformanceCounter(&end);
        printf("%s %.0f %s\n", lcm.status_name(st), milliseconds(start, end, frequency), err);
    }
    lcm.client_free(client);
    return 0;
}

// The header must compile as C++ too (cpp_compat: extern "C" linkage), strictly.
#include "lcm_outcome.h"

#include <cstdio>

int main() {
    char err[LCM_ERROR_SIZE];
    lcm_client *c = lcm_client_new(err, sizeof err);
    if (c == nullptr) return 1;
    lcm_status st = lcm_client_configure(c, "source", "cpp-check", err, sizeof err);
    lcm_client_free(c);
    std::printf("%s %s\n", lcm_version(), lcm_status_name(st));
    return st == LCM_OK ? 0 : 1;
}

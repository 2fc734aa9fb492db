// Records one telephony outcome in LCM from C++17, through a small RAII wrapper
// over liblcm_outcome's C API that a dialer can copy.
//
//   c++ -std=c++17 -I include examples/cpp/set_outcome.cpp -o set_outcome -L target/debug -Wl,-rpath,"$PWD/target/debug" -llcm_outcome
//   ./set_outcome http://127.0.0.1:8080/lcm        (or set LCM_ENDPOINT and omit it;
//                                                   LCM_PROXY=none skips any proxy)
//
// Exit status: 0 when LCM confirmed the outcome, 1 when it did not.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "lcm_outcome.h"

namespace lcm {

// A failed call: the status code and the library's message; what() is
// "LCM_ERR_...: message", as the C example prints it.
class error : public std::runtime_error {
public:
    error(lcm_status status, const std::string &message)
        : std::runtime_error(std::string(lcm_status_name(status)) + ": " + message),
          status_(status) {}
    lcm_status status() const noexcept { return status_; }

private:
    lcm_status status_;
};

namespace detail {
inline void check(lcm_status status, const char *err) {
    if (status != LCM_OK) throw error(status, err);
}

// A std::string may hold '\0', which C reads as the end: refuse it rather than send
// less than the caller gave.
inline const char *arg(const char *name, const std::string &s) {
    if (s.find('\0') != std::string::npos)
        throw error(LCM_ERR_INVALID_ARGUMENT, std::string(name) + " contains a NUL character");
    return s.c_str();
}
}  // namespace detail

// An independent client (own settings and connection pool). Movable, not copyable;
// calls may come from several threads at once, but the client must outlive them.
class client {
public:
    client() : handle_(new_handle()) {}

    // Sets an option ("endpoint", "timeout_ms", ...); see lcm_outcome.h.
    void configure(const std::string &key, const std::string &value) {
        char err[LCM_ERROR_SIZE];
        detail::check(lcm_client_configure(handle_.get(), detail::arg("key", key),
                                           detail::arg("value", value), err, sizeof err),
                      err);
    }

    // Returns only when LCM confirmed the outcome; throws lcm::error otherwise.
    void set_outcome(const std::string &call_id, const std::string &account_number,
                     const std::string &outcome_id, double lead_score,
                     const std::string &user_id, const std::string &agent_comments,
                     double target_amount) {
        char err[LCM_ERROR_SIZE];
        detail::check(
            lcm_client_set_outcome(handle_.get(), detail::arg("call_id", call_id),
                                   detail::arg("account_number", account_number),
                                   detail::arg("outcome_id", outcome_id), lead_score,
                                   detail::arg("user_id", user_id),
                                   detail::arg("agent_comments", agent_comments),
                                   target_amount, err, sizeof err),
            err);
    }

private:
    struct deleter {
        void operator()(lcm_client *c) const noexcept { lcm_client_free(c); }
    };
    std::unique_ptr<lcm_client, deleter> handle_;

    static lcm_client *new_handle() {
        char err[LCM_ERROR_SIZE];
        lcm_client *c = lcm_client_new(err, sizeof err);
        if (c == nullptr) throw error(LCM_ERR_INTERNAL, err);
        return c;
    }
};

}  // namespace lcm

int main(int argc, char **argv) {
    const char *endpoint = argc > 1 ? argv[1] : std::getenv("LCM_ENDPOINT");
    const char *proxy = std::getenv("LCM_PROXY");
    try {
        lcm::client client;
        // An independent client reads no LCM_* variable by itself. An empty endpoint
        // leaves it unset, which set_outcome reports as LCM_ERR_CONFIG.
        client.configure("endpoint", endpoint ? endpoint : "");
        if (proxy) client.configure("proxy", proxy);
        client.set_outcome("12345", "5|3|1|0|0|44|1", "1", 0, "testagent", "Test comment", 0);
        std::cout << "LCM_OK: LCM recorded the outcome of call 12345 (lcm-outcome "
                  << lcm_version() << ")\n";
        return 0;
    } catch (const lcm::error &e) {
        std::cerr << e.what() << '\n';
        return 1;
    }
}

// SPDX-License-Identifier: MIT
// duet-server under the attacks of docs/BAD-INPUT.md's HTTP rows, against a real process
// on loopback: descriptor exhaustion, slowloris, DNS rebinding and odd requests.
#include "harness.h"
#include "tests/check_str.h"
#ifdef DUET_TEST_MEDIA_CALL
#include "peer_harness.h"
#endif

#include <glib.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

using namespace duet::testing;

namespace {

void assert_pair_still_works(const ServerProcess &s) {
    assert_call_completes(s);
#ifdef DUET_TEST_MEDIA_CALL
    assert_media_call_completes(s);
#endif
}

int port_of(const ServerProcess &s) {
    const std::string &url = s.http_url(); // http://127.0.0.1:PORT/
    return std::atoi(url.c_str() + url.rfind(':') + 1);
}

gint64 now_ms() {
    return g_get_monotonic_time() / 1000;
}

// A plain TCP client on a blocking socket, optionally from another loopback address
// (all of 127.0.0.0/8 is this machine), with a bound on every wait.
class Tcp {
  public:
    Tcp(int port, const char *from = nullptr) {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(fd_, >=, 0);
        if (from) {
            sockaddr_in src{};
            src.sin_family = AF_INET;
            inet_pton(AF_INET, from, &src.sin_addr);
            g_assert_cmpint(bind(fd_, reinterpret_cast<sockaddr *>(&src), sizeof src), ==, 0);
        }
        sockaddr_in dst{};
        dst.sin_family = AF_INET;
        dst.sin_port = htons(guint16(port));
        inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
        // The kernel completes the handshake from the listen backlog, so this returns
        // even while the server is not accepting.
        g_assert_cmpint(connect(fd_, reinterpret_cast<sockaddr *>(&dst), sizeof dst), ==, 0);
    }
    ~Tcp() { close(fd_); }
    Tcp(const Tcp &) = delete;
    Tcp &operator=(const Tcp &) = delete;

    // False if the server has already closed or reset the connection.
    bool send(const std::string &bytes) {
        return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == gssize(bytes.size());
    }
    // Reads until the server closes (or resets) the connection or `timeout_ms` passes;
    // *closed says which.
    std::string read_until_closed(unsigned timeout_ms, bool *closed = nullptr) {
        std::string out;
        gint64 deadline = now_ms() + timeout_ms;
        bool eof = false;
        while (!eof && now_ms() < deadline) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, int(deadline - now_ms())) <= 0)
                continue;
            char buf[8192];
            gssize n = recv(fd_, buf, sizeof buf, 0);
            if (n <= 0)
                eof = true;
            else
                out.append(buf, std::size_t(n));
        }
        if (closed)
            *closed = eof;
        return out;
    }

  private:
    int fd_ = -1;
};

// One whole request on a fresh connection; returns the response (head and body).
std::string request(const ServerProcess &s, const std::string &head, unsigned timeout_ms = 5000) {
    Tcp t(port_of(s));
    g_assert_true(t.send(head));
    return t.read_until_closed(timeout_ms);
}

std::string get(const ServerProcess &s, const std::string &target,
                const std::string &extra_headers = {}) {
    return request(s, "GET " + target +
                          " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_of(s)) +
                          "\r\nConnection: close\r\n" + extra_headers + "\r\n");
}

int status_of(const std::string &response) {
    if (!g_str_has_prefix(response.c_str(), "HTTP/1.1 "))
        return -1;
    return std::atoi(response.c_str() + 9);
}

// A header's value in a response (case-insensitive name), or "" when absent.
std::string header_of(const std::string &response, const char *name) {
    std::string want = std::string("\r\n") + name + ":";
    std::string lower = response.substr(0, response.find("\r\n\r\n"));
    for (char &c : lower)
        c = g_ascii_tolower(c);
    for (char &c : want)
        c = g_ascii_tolower(c);
    std::size_t at = lower.find(want);
    if (at == std::string::npos)
        return "";
    std::size_t from = at + want.size();
    std::string v = response.substr(from, response.find("\r\n", from) - from);
    return g_strstrip(v.data());
}

// A request whose head never ends: the kind of connection a slowloris attack holds open.
std::string unfinished_head(int port) {
    return "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n";
}

// Opens `n` connections from 127.0.N.x addresses, `per_ip` to each address, each sending
// an unfinished request head.
std::vector<std::unique_ptr<Tcp>> open_many(int port, int n, int per_ip) {
    std::vector<std::unique_ptr<Tcp>> held;
    for (int i = 0; i < n; ++i) {
        std::string from = "127.0." + std::to_string(7 + i / per_ip) + ".1";
        held.push_back(std::make_unique<Tcp>(port, from.c_str()));
        held.back()->send(unfinished_head(port));
    }
    return held;
}

// Issue 11 item 1. 300 connections against a descriptor limit of 256, from several
// addresses so the per-address cap does not stop them: the global cap answers 503 before
// descriptors run out, and once the connections close the server serves again at once.
void test_fd_exhaustion_is_refused_not_fatal() {
    ServerProcess s({"--http-timeout", "60"}, {}, {"prlimit", "--nofile=256:256"});
    int port = port_of(s);
    g_assert_cmpfloat(metric(s, "duet_max_connections"), ==, 256 - 64);
    auto held = open_many(port, 300, 30);
    // Over the cap, a whole request is answered at once with 503.
    gint64 t0 = now_ms();
    std::string busy = get(s, "/healthz");
    g_test_message("with 300 connections held: %d after %" G_GINT64_FORMAT " ms", status_of(busy),
                   now_ms() - t0);
    g_assert_cmpint(status_of(busy), ==, 503);
    check_str_eq(header_of(busy, "Retry-After"), "1");
    held.clear();
    // All closed: the next request is served.
    t0 = now_ms();
    g_assert_true(wait_until([&] { return status_of(get(s, "/healthz")) == 200; }, 5000));
    g_test_message("/healthz served again %" G_GINT64_FORMAT " ms after the close", now_ms() - t0);
    g_assert_cmpfloat(metric(s, "duet_accept_errors_total"), ==, 0);
    g_assert_cmpfloat(metric(s, "duet_accepting"), ==, 1);
    guint status = 0;
    std::string m = http_get(s.http_url() + "metrics", &status);
    g_assert_nonnull(
        strstr(m.c_str(), "duet_connections_refused_total{reason=\"max-connections\"}"));
    g_assert_null(
        strstr(m.c_str(), "duet_connections_refused_total{reason=\"max-connections\"} 0\n"));
    assert_pair_still_works(s);
}

// The systemd notify socket of a watchdog test: WATCHDOG=1 datagrams arrive here.
class NotifySocket {
  public:
    NotifySocket() {
        dir_ = g_dir_make_tmp("duet-notify-XXXXXX", nullptr);
        path_ = std::string(dir_) + "/notify";
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
        g_assert_cmpint(bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a), ==, 0);
    }
    ~NotifySocket() {
        close(fd_);
        unlink(path_.c_str());
        rmdir(dir_);
        g_free(dir_);
    }
    const std::string &path() const { return path_; }
    // Waits up to `timeout_ms` for a WATCHDOG=1; true if one came.
    bool ping_within(unsigned timeout_ms) {
        gint64 deadline = now_ms() + timeout_ms;
        while (now_ms() < deadline) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, int(deadline - now_ms())) <= 0)
                continue;
            char buf[256];
            gssize n = recv(fd_, buf, sizeof buf - 1, 0);
            if (n > 0 && std::string(buf, std::size_t(n)) == "WATCHDOG=1")
                return true;
        }
        return false;
    }

  private:
    gchar *dir_;
    std::string path_;
    int fd_;
};

// Issue 11 item 1, with the cap set above the descriptor limit so accept() does fail:
// the server keeps trying, stops feeding the watchdog while it cannot accept (so systemd
// would restart it), and serves the waiting request by itself once descriptors are free.
[[maybe_unused]] void test_accept_resumes_after_emfile() {
    NotifySocket notify;
    ServerProcess s({"--http-timeout", "60", "--max-connections", "100000"},
                    {{"NOTIFY_SOCKET", notify.path()}, {"WATCHDOG_USEC", "1000000"}},
                    {"prlimit", "--nofile=256:256"});
    int port = port_of(s);
    g_assert_true(notify.ping_within(3000));
    auto held = open_many(port, 300, 30);
    // This one waits in the backlog: there is no descriptor to accept it with.
    Tcp waiting(port);
    g_assert_true(waiting.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    // A watchdog interval after accept() started failing, the pings stop.
    gint64 t0 = now_ms();
    while (notify.ping_within(1500))
        g_assert_cmpint(now_ms() - t0, <, 15000);
    bool closed = false;
    check_str_eq(waiting.read_until_closed(10, &closed), "");
    g_assert_false(closed);
    held.clear();
    t0 = now_ms();
    std::string answer = waiting.read_until_closed(5000, &closed);
    g_test_message("the waiting request was served %" G_GINT64_FORMAT " ms after the close",
                   now_ms() - t0);
    g_assert_cmpint(status_of(answer), ==, 200);
    g_assert_true(notify.ping_within(3000));
    g_assert_cmpfloat(metric(s, "duet_accept_errors_total"), >, 0);
    g_assert_cmpfloat(metric(s, "duet_accepting"), ==, 1);
    assert_pair_still_works(s);
}

// Issue 11 item 2. Unfinished request heads count towards the per-address cap, and each
// is closed --http-timeout after it connected, trickling or not.
void test_slowloris() {
    ServerProcess s({"--http-timeout", "2", "--max-connections-per-ip", "8"});
    int port = port_of(s);
    std::vector<std::unique_ptr<Tcp>> slow;
    for (int i = 0; i < 8; ++i) {
        slow.push_back(std::make_unique<Tcp>(port));
        g_assert_true(slow.back()->send(unfinished_head(port)));
    }
    gint64 t0 = now_ms();
    // A ninth from the same address is over the cap, though none of the eight upgraded.
    g_assert_cmpint(status_of(get(s, "/healthz")), ==, 429);
    // One of them trickles a header line every 500 ms; it is cut off all the same.
    gint64 closed_at = 0;
    for (int round = 0; round < 20 && !closed_at; ++round) {
        bool closed = false;
        slow[0]->read_until_closed(500, &closed);
        if (closed || !slow[0]->send("X-Slow: 1\r\n"))
            closed_at = now_ms();
    }
    g_assert_cmpint(closed_at, >, 0);
    for (auto &c : slow) {
        bool closed = false;
        c->read_until_closed(5000, &closed);
        g_assert_true(closed);
    }
    g_test_message("slow connections closed %" G_GINT64_FORMAT " ms and all %" G_GINT64_FORMAT
                   " ms after they connected (--http-timeout 2)",
                   closed_at - t0, now_ms() - t0);
    g_assert_cmpint(status_of(get(s, "/healthz")), ==, 200);
    g_assert_cmpfloat(metric(s, "duet_http_timeouts_total"), >=, 8);
    assert_pair_still_works(s);
}

std::string upgrade(const ServerProcess &s, const std::string &host, const std::string &origin) {
    return request(s,
                   "GET /ws HTTP/1.1\r\nHost: " + host + "\r\nOrigin: " + origin +
                       "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n",
                   1000);
}

// Issue 11 item 3. A page on a rebinding name sends its own name as both Host and Origin.
void test_dns_rebinding_origin() {
    ServerProcess plain;
    std::string p = std::to_string(port_of(plain));
    std::string evil = "rebind.attacker.example:" + p;
    g_assert_cmpint(status_of(upgrade(plain, evil, "http://" + evil)), ==, 403);
    g_assert_cmpint(status_of(upgrade(plain, "127.0.0.1:" + p, "http://127.0.0.1:" + p)), ==, 101);
    g_assert_cmpint(status_of(upgrade(plain, "localhost:" + p, "http://localhost:" + p)), ==, 101);
    g_assert_cmpint(status_of(upgrade(plain, "127.0.0.1:" + p, "http://" + evil)), ==, 403);
    g_assert_cmpfloat(metric(plain, "duet_origin_refused_total"), ==, 2);

    ServerProcess named(
        {"--server-name", "duet.lan.example", "--allow-origin", "https://app.example"});
    p = std::to_string(port_of(named));
    std::string lan = "duet.lan.example:" + p;
    g_assert_cmpint(status_of(upgrade(named, lan, "http://" + lan)), ==, 101);
    g_assert_cmpint(
        status_of(upgrade(named, "DUET.lan.example:" + p, "http://duet.lan.example:" + p)), ==,
        101);
    g_assert_cmpint(status_of(upgrade(named, "127.0.0.1:" + p, "https://app.example")), ==, 101);
    g_assert_cmpint(status_of(upgrade(named, "rebind.attacker.example:" + p,
                                      "http://rebind.attacker.example:" + p)),
                    ==, 403);
    assert_pair_still_works(plain);
}

// Issue 11 items 5, 6 and 8: the page's security headers, links with a stray '%', a 405
// that says what is allowed, and request headers over the limit.
void test_http_edges() {
    ServerProcess s;
    std::string page = get(s, "/");
    g_assert_cmpint(status_of(page), ==, 200);
    std::string csp = header_of(page, "Content-Security-Policy");
    for (const char *part : {"default-src 'none'", "script-src 'self'", "connect-src 'self'",
                             "frame-ancestors 'none'"})
        g_assert_nonnull(strstr(csp.c_str(), part));
    g_assert_null(strstr(csp.c_str(), "unsafe-inline"));
    check_str_eq(header_of(page, "X-Frame-Options"), "DENY");

    for (const char *link : {"/?room=100%", "/?room=%ZZ", "/?room=%", "/?room=a%2"}) {
        std::string r = get(s, link);
        g_test_message("%s: %d", link, status_of(r));
        g_assert_cmpint(status_of(r), ==, 200);
        g_assert_nonnull(strstr(r.c_str(), "<!doctype html>"));
    }
    std::string post = request(s, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    g_assert_cmpint(status_of(post), ==, 405);
    check_str_eq(header_of(post, "Allow"), "GET, HEAD");

    // 100 KiB of headers in one write: the client reads a 431, not a reset.
    std::string big = get(s, "/", "X-Big: " + std::string(100 * 1024, 'a') + "\r\n");
    g_assert_cmpint(status_of(big), ==, 431);
    std::string many;
    for (int i = 0; i < 2000; ++i)
        many += "X-H" + std::to_string(i) + ": " + std::string(20, 'b') + "\r\n";
    g_assert_cmpint(status_of(get(s, "/healthz", many)), ==, 431);
    g_assert_cmpint(status_of(get(s, "/healthz", "X-Fine: " + std::string(8000, 'c') + "\r\n")), ==,
                    200);
    assert_pair_still_works(s);
}

} // namespace

int main(int argc, char **argv) {
    // Some tests hold 300 sockets at once.
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/server-hardening/fd-exhaustion", test_fd_exhaustion_is_refused_not_fatal);
#ifndef __SANITIZE_ADDRESS__
    // Left out of the sanitizer build (it runs in the main suite): there, a server that
    // had run out of descriptors under prlimit once failed to finish within the test's
    // timeout (1 of 3 runs, cause not yet found; see the issue 11 closing note).
    g_test_add_func("/server-hardening/accept-resumes-after-emfile",
                    test_accept_resumes_after_emfile);
#endif
    g_test_add_func("/server-hardening/slowloris", test_slowloris);
    g_test_add_func("/server-hardening/dns-rebinding", test_dns_rebinding_origin);
    g_test_add_func("/server-hardening/http-edges", test_http_edges);
    return g_test_run();
}

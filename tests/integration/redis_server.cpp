// SPDX-License-Identifier: MIT
// Test harness: a throwaway redis-server child process on loopback.
#include "redis_server.h"

#include <hiredis/hiredis.h>

#include <csignal>
#include <cstring>
#include <optional>
#include <sys/prctl.h>

namespace duet::testing {

namespace {

std::string reply_text(const redisReply *r) {
    switch (r->type) {
    case REDIS_REPLY_INTEGER:
        return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
        return "(nil)";
    case REDIS_REPLY_ARRAY: {
        std::string out;
        for (size_t i = 0; i < r->elements; ++i)
            out += (i ? "\n" : "") + reply_text(r->element[i]);
        return out;
    }
    default:
        return std::string(r->str, r->len);
    }
}

redisReply *call(redisContext *c, const std::vector<std::string> &argv) {
    std::vector<const char *> v;
    std::vector<size_t> lens;
    for (const auto &a : argv) {
        v.push_back(a.data());
        lens.push_back(a.size());
    }
    return static_cast<redisReply *>(redisCommandArgv(c, int(v.size()), v.data(), lens.data()));
}

// A reply on a blocking connection, or nothing when it cannot connect or gets no answer.
std::optional<std::string> try_run(int port, const std::string &password,
                                   const std::vector<std::string> &argv, int db) {
    timeval timeout{0, 300 * 1000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, timeout);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return std::nullopt;
    }
    redisSetTimeout(c, timeout);
    std::vector<std::vector<std::string>> steps;
    if (!password.empty())
        steps.push_back({"AUTH", password});
    if (db != 0)
        steps.push_back({"SELECT", std::to_string(db)});
    steps.push_back(argv);
    std::optional<std::string> out;
    for (const auto &step : steps) {
        redisReply *r = call(c, step);
        if (!r) {
            out.reset();
            break;
        }
        out = reply_text(r);
        freeReplyObject(r);
    }
    redisFree(c);
    return out;
}

} // namespace

int free_loopback_port() {
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, nullptr);
    g_assert_nonnull(s);
    GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *any = g_inet_socket_address_new(lo, 0);
    g_assert_true(g_socket_bind(s, any, FALSE, nullptr));
    GSocketAddress *bound = g_socket_get_local_address(s, nullptr);
    int port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound);
    g_object_unref(any);
    g_object_unref(lo);
    g_object_unref(s); // closes it: the port is free again for redis-server
    return port;
}

RedisServer::RedisServer(Options options) : opt_(std::move(options)) {
    if (opt_.port == 0)
        opt_.port = free_loopback_port();
    if (opt_.start)
        start();
}

RedisServer::~RedisServer() {
    if (proc_)
        kill_hard();
}

void RedisServer::start() {
    g_assert_null(proc_);
    gchar *program = g_find_program_in_path("redis-server");
    if (!program)
        g_error("redis-server is not installed (scripts/setup.sh installs it)");
    std::string port = std::to_string(opt_.port);
    // No persistence (a restart starts empty, as a lost Redis would), loopback only, and
    // only warnings in the test's log.
    std::vector<const char *> argv{program,  "--port",     port.c_str(),   "--bind", "127.0.0.1",
                                   "--save", "",           "--appendonly", "no",     "--daemonize",
                                   "no",     "--loglevel", "warning"};
    if (!opt_.password.empty()) {
        argv.push_back("--requirepass");
        argv.push_back(opt_.password.c_str());
    }
    if (!opt_.unix_socket.empty()) {
        argv.push_back("--unixsocket");
        argv.push_back(opt_.unix_socket.c_str());
    }
    argv.push_back(nullptr);
    // Its log goes to stdout, which is the test's TAP stream: kept out of it.
    GSubprocessLauncher *launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
    // An aborted test must not leave Redis holding meson's output pipe.
    g_subprocess_launcher_set_child_setup(
        launcher, [](gpointer) { prctl(PR_SET_PDEATHSIG, SIGKILL); }, nullptr, nullptr);
    GError *error = nullptr;
    proc_ = g_subprocess_launcher_spawnv(launcher, argv.data(), &error);
    g_object_unref(launcher);
    g_free(program);
    if (!proc_)
        g_error("cannot start redis-server: %s", error->message);
    // Ready when it answers PING: bounded, each try itself bounded by its timeouts.
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (try_run(opt_.port, opt_.password, {"PING"}, 0) != "PONG") {
        if (g_get_monotonic_time() > deadline || !g_subprocess_get_identifier(proc_))
            g_error("redis-server on port %d did not answer PING", opt_.port);
        g_usleep(10 * 1000);
    }
}

void RedisServer::kill_hard() {
    g_assert_nonnull(proc_);
    g_subprocess_send_signal(proc_, SIGKILL);
    g_subprocess_wait(proc_, nullptr, nullptr);
    g_clear_object(&proc_);
}

namespace {

// The state letter in /proc/PID/stat ('T' when stopped); '?' when it cannot be read.
char process_state(GSubprocess *proc) {
    const char *pid = g_subprocess_get_identifier(proc);
    gchar *stat = nullptr;
    if (!pid || !g_file_get_contents((std::string("/proc/") + pid + "/stat").c_str(), &stat,
                                     nullptr, nullptr))
        return '?';
    // "PID (comm) S ...": the name may hold spaces or ')', so look after the last ')'.
    const char *close = strrchr(stat, ')');
    char state = close && close[1] && close[2] ? close[2] : '?';
    g_free(stat);
    return state;
}

// Signals are delivered asynchronously: wait (bounded) until the kernel shows the change.
void signal_and_wait(GSubprocess *proc, int sig, bool stopped) {
    g_subprocess_send_signal(proc, sig);
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while ((process_state(proc) == 'T') != stopped) {
        if (g_get_monotonic_time() > deadline)
            g_error("redis-server did not %s", stopped ? "stop" : "continue");
        g_usleep(1000);
    }
}

} // namespace

void RedisServer::stop() {
    signal_and_wait(proc_, SIGSTOP, true);
}

void RedisServer::resume() {
    signal_and_wait(proc_, SIGCONT, false);
}

std::string RedisServer::url() const {
    std::string out = "redis://";
    if (!opt_.password.empty()) {
        gchar *escaped = g_uri_escape_string(opt_.password.c_str(), nullptr, FALSE);
        out += std::string(":") + escaped + "@";
        g_free(escaped);
    }
    return out + "127.0.0.1:" + std::to_string(opt_.port);
}

std::string RedisServer::run(const std::vector<std::string> &argv, int db) const {
    auto out = try_run(opt_.port, opt_.password, argv, db);
    g_assert_true(out.has_value());
    return *out;
}

} // namespace duet::testing

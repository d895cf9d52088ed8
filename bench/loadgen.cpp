// SPDX-License-Identifier: MIT
// duet-loadgen: opens N WebSocket connections in rooms of two against duet-server and
// measures accept rate, join round trip, relay throughput, server RSS per connection and
// server CPU per relayed message. With several --port, connection i goes to the i-th port
// modulo their number, so the two members of every room are on different servers.
#include "wsclient.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <vector>

using duet::bench::WsConn;

namespace {

std::int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Peer {
    WsConn ws;
    std::string id, partner;
    std::int64_t join_sent = 0;
    double join_ms = -1;
    bool in_epoll_out = false;
};

struct Options {
    std::string host = "127.0.0.1";
    std::vector<int> ports;
    int connections = 1000;
    int max_handshakes = 256; // in flight at once; more only fills the accept queue
    int join_rate = 5000;     // joins per second, paced so we measure latency, not queueing
    double relay_seconds = 5;
    int message_bytes = 200;
    std::vector<int> server_pids; // every duet-server: their CPU is summed
    int redis_pid = 0;            // reported on its own
    const char *json_out = nullptr;
};

long rss_kib(int pid) {
    if (!pid)
        return -1;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = std::fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    std::fclose(f);
    return kib;
}

// utime + stime of `pid` in seconds; with `user_only`, utime alone.
double cpu_seconds(int pid, bool user_only = false) {
    if (!pid)
        return -1;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = std::fopen(path, "r");
    if (!f)
        return -1;
    char buf[1024];
    std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = 0;
    const char *p = std::strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    // Fields after the command: state, then 10 fields, then utime (14) and stime (15).
    if (!p ||
        std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return double(user_only ? ut : ut + st) / double(sysconf(_SC_CLK_TCK));
}

// Summed over several processes; -1 when any cannot be read (or none was given).
long rss_kib(const std::vector<int> &pids) {
    long sum = pids.empty() ? -1 : 0;
    for (int pid : pids) {
        long k = rss_kib(pid);
        if (k < 0)
            return -1;
        sum += k;
    }
    return sum;
}

double cpu_seconds(const std::vector<int> &pids, bool user_only = false) {
    double sum = pids.empty() ? -1 : 0;
    for (int pid : pids) {
        double s = cpu_seconds(pid, user_only);
        if (s < 0)
            return -1;
        sum += s;
    }
    return sum;
}

double self_cpu_seconds() {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::string_view field(std::string_view json, std::string_view key) {
    auto k = json.find(key);
    if (k == std::string_view::npos)
        return {};
    auto start = k + key.size();
    auto end = json.find('"', start);
    return end == std::string_view::npos ? std::string_view{} : json.substr(start, end - start);
}

double percentile(std::vector<double> v, double p) {
    if (v.empty())
        return -1;
    std::sort(v.begin(), v.end());
    std::size_t i = std::min(v.size() - 1, std::size_t(p * double(v.size() - 1) + 0.5));
    return v[i];
}

void usage() {
    std::fprintf(stderr, "usage: duet-loadgen --port P [--port P2 ...] [--host 127.0.0.1] "
                         "[--connections N] [--relay-seconds S] [--join-rate R] "
                         "[--message-bytes B] [--server-pid PID ...] [--redis-pid PID] "
                         "[--json FILE]\n");
    std::exit(2);
}

} // namespace

int main(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> const char * {
            if (i + 1 >= argc)
                usage();
            return argv[++i];
        };
        if (a == "--host")
            o.host = next();
        else if (a == "--port")
            o.ports.push_back(std::atoi(next()));
        else if (a == "--connections")
            o.connections = std::atoi(next());
        else if (a == "--relay-seconds")
            o.relay_seconds = std::atof(next());
        else if (a == "--join-rate")
            o.join_rate = std::atoi(next());
        else if (a == "--message-bytes")
            o.message_bytes = std::atoi(next());
        else if (a == "--server-pid")
            o.server_pids.push_back(std::atoi(next()));
        else if (a == "--redis-pid")
            o.redis_pid = std::atoi(next());
        else if (a == "--json")
            o.json_out = next();
        else
            usage();
    }
    if (o.connections < 2 || o.connections % 2 || o.ports.empty())
        usage();

    // One fd per connection plus slack; raise the soft limit to the hard one.
    rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < rlim_t(o.connections + 64)) {
        std::fprintf(stderr, "duet-loadgen: fd limit %lu is below %d connections\n",
                     (unsigned long)rl.rlim_cur, o.connections);
        return 1;
    }

    const int n = o.connections;
    std::vector<Peer> peers(static_cast<std::size_t>(n));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    std::vector<epoll_event> events(1024);
    long rss_before = rss_kib(o.server_pids);

    auto watch = [&](int idx, bool want_out) {
        Peer &p = peers[std::size_t(idx)];
        epoll_event ev{};
        ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
        ev.data.u32 = std::uint32_t(idx);
        epoll_ctl(ep, EPOLL_CTL_MOD, p.ws.fd(), &ev);
        p.in_epoll_out = want_out;
    };

    int open = 0, failed = 0, joined = 0, handshaking = 0, next_connect = 0;
    std::uint64_t received = 0;
    bool relaying = false;
    std::string payload(std::size_t(std::max(0, o.message_bytes - 60)), 'x');

    auto send_signal = [&](Peer &p) {
        std::string msg = "{\"type\":\"signal\",\"to\":\"" + p.partner + "\",\"data\":{\"p\":\"" +
                          payload + "\"}}";
        p.ws.send_text(msg);
    };

    auto on_text = [&](int idx, std::string_view text) {
        Peer &p = peers[std::size_t(idx)];
        auto type = field(text, "\"type\":\"");
        if (type == "signal") {
            ++received;
            if (relaying)
                send_signal(p);
        } else if (type == "joined") {
            p.id = field(text, "\"id\":\"");
            auto peers_at = text.find("\"peers\":[\"");
            if (peers_at != std::string_view::npos)
                p.partner = field(text.substr(peers_at), "\"peers\":[\"");
            p.join_ms = double(now_ns() - p.join_sent) / 1e6;
            ++joined;
        } else if (type == "peer-joined") {
            p.partner = field(text, "\"id\":\"");
        } else if (type == "error") {
            std::fprintf(stderr, "duet-loadgen: server error: %.*s\n", int(text.size()),
                         text.data());
        }
    };

    auto pump = [&](int timeout_ms) {
        int k = epoll_wait(ep, events.data(), int(events.size()), timeout_ms);
        for (int e = 0; e < k; ++e) {
            int idx = int(events[std::size_t(e)].data.u32);
            Peer &p = peers[std::size_t(idx)];
            if (p.ws.state() == WsConn::State::Closed)
                continue;
            auto before = p.ws.state();
            if (events[std::size_t(e)].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                p.ws.read([&](std::string_view t) { on_text(idx, t); });
            if (before == WsConn::State::Handshaking &&
                p.ws.state() != WsConn::State::Handshaking) {
                --handshaking;
                if (p.ws.state() == WsConn::State::Open)
                    ++open;
            }
            if (p.ws.state() == WsConn::State::Closed) {
                if (!failed++)
                    std::fprintf(stderr, "duet-loadgen: first failure on connection %d: %s\n", idx,
                                 p.ws.last_errno() == -1 ? "EOF"
                                 : p.ws.last_errno() == -2
                                     ? ("close frame " + std::to_string(p.ws.close_code_) + " " +
                                        p.ws.close_reason_)
                                           .c_str()
                                     : std::strerror(p.ws.last_errno()));
                epoll_ctl(ep, EPOLL_CTL_DEL, p.ws.fd(), nullptr);
                p.ws.close();
                continue;
            }
            p.ws.flush();
            if (p.ws.wants_write() != p.in_epoll_out)
                watch(idx, p.ws.wants_write());
        }
    };

    auto flush_all = [&] {
        for (int i = 0; i < n; ++i) {
            Peer &p = peers[std::size_t(i)];
            if (p.ws.state() != WsConn::State::Open)
                continue;
            p.ws.flush();
            if (p.ws.wants_write() != p.in_epoll_out)
                watch(i, p.ws.wants_write());
        }
    };

    // Phase 1: connect everyone, a bounded number of handshakes at a time.
    std::int64_t t0 = now_ns();
    while (open + failed < n) {
        while (next_connect < n && handshaking < o.max_handshakes) {
            Peer &p = peers[std::size_t(next_connect)];
            if (!p.ws.start(o.host, o.ports[std::size_t(next_connect) % o.ports.size()], "/ws")) {
                if (!failed++)
                    std::fprintf(stderr, "duet-loadgen: connect: %s\n", std::strerror(errno));
            } else {
                epoll_event ev{};
                ev.events = EPOLLIN | EPOLLOUT;
                ev.data.u32 = std::uint32_t(next_connect);
                epoll_ctl(ep, EPOLL_CTL_ADD, p.ws.fd(), &ev);
                p.in_epoll_out = true;
                ++handshaking;
            }
            ++next_connect;
        }
        pump(100);
        if (now_ns() - t0 > std::int64_t(120) * 1000000000) {
            std::fprintf(stderr, "duet-loadgen: connect phase timed out\n");
            break;
        }
    }
    double connect_s = double(now_ns() - t0) / 1e9;
    if (failed) {
        std::fprintf(stderr, "duet-loadgen: %d connections failed\n", failed);
        return 1;
    }

    // Phase 2: paced joins, rooms of two (connections 2i and 2i+1 share room "bench-i").
    std::int64_t t1 = now_ns();
    int sent_joins = 0;
    while (joined < n) {
        std::int64_t due = std::int64_t(double(now_ns() - t1) / 1e9 * o.join_rate) + 1;
        while (sent_joins < n && sent_joins < due) {
            Peer &p = peers[std::size_t(sent_joins)];
            p.ws.send_text("{\"type\":\"join\",\"room\":\"bench-" + std::to_string(sent_joins / 2) +
                           "\"}");
            p.join_sent = now_ns();
            p.ws.flush();
            if (p.ws.wants_write() && !p.in_epoll_out)
                watch(sent_joins, true);
            ++sent_joins;
        }
        pump(1);
        if (now_ns() - t1 > std::int64_t(120) * 1000000000) {
            std::fprintf(stderr, "duet-loadgen: join phase timed out (%d/%d)\n", joined, n);
            return 1;
        }
    }
    // Partners learn each other via peers[] or peer-joined; wait until every pair knows.
    auto all_paired = [&] {
        for (auto &p : peers)
            if (p.partner.empty())
                return false;
        return true;
    };
    for (std::int64_t start = now_ns(); !all_paired() && now_ns() - start < 10000000000LL;)
        pump(10);
    // A member that never heard of its room-mate (no peer-joined) is a server bug worth
    // saying; the bench still knows who is with whom and goes on to measure the relay.
    int unpaired = 0;
    for (int i = 0; i < n; ++i) {
        Peer &p = peers[std::size_t(i)];
        const Peer &mate = peers[std::size_t(i ^ 1)];
        if (p.partner.empty() && !mate.id.empty()) {
            p.partner = mate.id;
            ++unpaired;
        }
    }
    if (unpaired)
        std::fprintf(stderr,
                     "duet-loadgen: %d members never told of their room-mate (no peer-joined "
                     "within 10 s)\n",
                     unpaired);
    if (!all_paired()) {
        std::fprintf(stderr, "duet-loadgen: some members have no room-mate\n");
        return 1;
    }
    long rss_idle = rss_kib(o.server_pids);
    std::vector<double> join_ms;
    for (auto &p : peers)
        join_ms.push_back(p.join_ms);

    // Phase 3: closed-loop relay. Every connection keeps one message in flight to its
    // partner; each received message is answered at once. The rate counts what arrives in
    // the window. CPU per message counts from before the first send until the last message
    // in flight has arrived, over every message relayed in that time, so neither end of the
    // window leaves relays counted on one side only.
    double scpu_relay0 = cpu_seconds(o.server_pids), cpu_relay0 = self_cpu_seconds();
    double ucpu_relay0 = cpu_seconds(o.server_pids, true);
    double rcpu_relay0 = cpu_seconds(o.redis_pid);
    relaying = true;
    received = 0;
    for (auto &p : peers)
        send_signal(p);
    flush_all();
    std::int64_t t2 = now_ns();
    std::int64_t relay_end = t2 + std::int64_t(o.relay_seconds * 1e9);
    while (now_ns() < relay_end)
        pump(10);
    double relay_s = double(now_ns() - t2) / 1e9;
    std::uint64_t in_window = received;
    double relay_rate = double(in_window) / relay_s;
    double cpu_relay = self_cpu_seconds() - cpu_relay0;
    relaying = false;
    // Drain: wait for the messages still in flight (at most one per connection), up to 10 s.
    std::uint64_t expected = in_window + std::uint64_t(n);
    for (std::int64_t start = now_ns(); received < expected && now_ns() - start < 10000000000LL;)
        pump(10);
    if (received < expected)
        std::fprintf(stderr, "duet-loadgen: %" PRIu64 " of %d messages in flight never arrived\n",
                     expected - received, n);
    double scpu_relay = cpu_seconds(o.server_pids) - scpu_relay0;
    double ucpu_relay = cpu_seconds(o.server_pids, true) - ucpu_relay0;
    double rcpu_relay = o.redis_pid ? cpu_seconds(o.redis_pid) - rcpu_relay0 : -1;
    double relayed = double(received);
    double us_per_msg = scpu_relay0 >= 0 && relayed > 0 ? scpu_relay * 1e6 / relayed : -1;
    // The part in the servers' own code (the rest is the kernel's: TCP, epoll, wakeups).
    double user_us_per_msg = scpu_relay0 >= 0 && relayed > 0 ? ucpu_relay * 1e6 / relayed : -1;
    double redis_us_per_msg = o.redis_pid && relayed > 0 ? rcpu_relay * 1e6 / relayed : -1;
    // Busy share of one core over the window (the drain is short and adds little).
    double server_busy = scpu_relay0 >= 0 ? scpu_relay / relay_s : -1;

    double p50 = percentile(join_ms, 0.50), p99 = percentile(join_ms, 0.99);
    double per_conn =
        (rss_before > 0 && rss_idle > 0) ? double(rss_idle - rss_before) * 1024.0 / n : -1;
    std::printf("%-12s %10s %10s %10s %14s %12s %12s %12s %14s\n", "connections", "accept/s",
                "join p50", "join p99", "relay msg/s", "RSS/conn", "server CPU", "client CPU",
                "server us/msg");
    std::printf("%-12d %10.0f %8.2fms %8.2fms %14.0f %10.0f B %10.0f%% %10.0f%% %14.2f\n", n,
                n / connect_s, p50, p99, relay_rate, per_conn, 100 * server_busy,
                100 * cpu_relay / relay_s, us_per_msg);
    std::printf("server CPU per relayed message: %.2f us, of which %.2f us in user space\n",
                us_per_msg, user_us_per_msg);
    if (o.redis_pid)
        std::printf("redis: %.2f us per relayed message, %.0f%% of a core\n", redis_us_per_msg,
                    100 * rcpu_relay / relay_s);
    if (o.json_out) {
        FILE *f = std::fopen(o.json_out, "w");
        if (f) {
            std::fprintf(f,
                         "{\"connections\":%d,\"servers\":%zu,\"accept_per_s\":%.1f,"
                         "\"join_p50_ms\":%.3f,\"join_p99_ms\":%.3f,\"relay_msgs_per_s\":%.1f,"
                         "\"rss_per_conn_bytes\":%.0f,\"server_cpu_during_relay\":%.3f,"
                         "\"client_cpu_during_relay\":%.3f,\"server_cpu_us_per_msg\":%.3f,"
                         "\"server_user_us_per_msg\":%.3f,"
                         "\"redis_cpu_us_per_msg\":%.3f,\"messages_relayed\":%" PRIu64 ","
                         "\"message_bytes\":%d,\"relay_seconds\":%.2f}\n",
                         n, o.ports.size(), n / connect_s, p50, p99, relay_rate, per_conn,
                         server_busy, cpu_relay / relay_s, us_per_msg, user_us_per_msg,
                         redis_us_per_msg, received, o.message_bytes, relay_s);
            std::fclose(f);
        }
    }
    for (auto &p : peers)
        p.ws.close();
    return 0;
}

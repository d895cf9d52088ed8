// SPDX-License-Identifier: MIT
// duet-peer over wss:// with a private CA, and calls relayed through a real coturn.
#include "harness.h"
#include "peer_harness.h"

#include <gio/gio.h>
#include <glib.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <sys/prctl.h>
#include <unistd.h>

using namespace duet::testing;

namespace {

// openssl, turnutils_uclient: each is bounded by `timeout` so a wedged tool fails the test
// instead of hanging it.
constexpr const char *kToolTimeoutS = "30";
// coturn opens its listeners well within this on a loaded machine.
constexpr unsigned kTurnReadyMs = 10000;

void die_with_parent(gpointer) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

// Runs argv to completion (stdout and stderr merged into *out); returns the exit status,
// or -1 if it could not be started or was killed.
int run(std::vector<std::string> args, std::string *out = nullptr) {
    args.insert(args.begin(), {"timeout", kToolTimeoutS});
    std::vector<const char *> argv;
    for (auto &a : args)
        argv.push_back(a.c_str());
    argv.push_back(nullptr);
    GSubprocessLauncher *l = g_subprocess_launcher_new(
        GSubprocessFlags(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE));
    g_subprocess_launcher_set_child_setup(l, die_with_parent, nullptr, nullptr);
    GError *err = nullptr;
    GSubprocess *p = g_subprocess_launcher_spawnv(l, argv.data(), &err);
    g_object_unref(l);
    if (!p) {
        g_printerr("cannot run %s: %s\n", args[2].c_str(), err->message);
        g_error_free(err);
        return -1;
    }
    gchar *text = nullptr;
    g_subprocess_communicate_utf8(p, nullptr, nullptr, &text, nullptr, nullptr);
    if (out)
        *out = text ? text : "";
    g_free(text);
    int rc = g_subprocess_get_if_exited(p) ? g_subprocess_get_exit_status(p) : -1;
    g_object_unref(p);
    return rc;
}

std::string read_text(const std::string &path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::size_t count(const std::string &haystack, const std::string &needle) {
    std::size_t n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + needle.size()))
        ++n;
    return n;
}

// A UDP port on `ip` free right now (the kernel picks it).
guint16 free_port(const std::string &ip) {
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, nullptr);
    GInetAddress *lo = g_inet_address_new_from_string(ip.c_str());
    GSocketAddress *any = g_inet_socket_address_new(lo, 0);
    g_assert_true(g_socket_bind(s, any, FALSE, nullptr));
    GSocketAddress *bound = g_socket_get_local_address(s, nullptr);
    guint16 port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    for (gpointer o : {gpointer(bound), gpointer(any), gpointer(lo), gpointer(s)})
        g_object_unref(o);
    return port;
}

// ---- a private CA and a server certificate for 127.0.0.1 ----

struct Pki {
    std::string dir, ca, leaf, key;
};

Pki make_pki() {
    Pki p;
    p.dir = scratch_dir() + "/pki";
    g_assert_cmpint(g_mkdir_with_parents(p.dir.c_str(), 0700), ==, 0);
    p.ca = p.dir + "/ca.pem";
    p.leaf = p.dir + "/leaf.pem";
    p.key = p.dir + "/leaf.key";
    std::string ca_key = p.dir + "/ca.key", csr = p.dir + "/leaf.csr", ext = p.dir + "/leaf.ext";
    g_assert_true(g_file_set_contents(ext.c_str(), "subjectAltName=IP:127.0.0.1\n", -1, nullptr));
    std::string out;
    auto ok = [&](std::vector<std::string> args) {
        int rc = run(std::move(args), &out);
        if (rc != 0)
            g_printerr("openssl failed (%d):\n%s\n", rc, out.c_str());
        g_assert_cmpint(rc, ==, 0);
    };
    ok({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", p.ca,
        "-days", "2", "-subj", "/CN=duet test CA"});
    ok({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", p.key, "-out", csr, "-subj",
        "/CN=127.0.0.1"});
    ok({"openssl", "x509", "-req", "-in", csr, "-CA", p.ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", p.leaf, "-days", "2", "-extfile", ext});
    return p;
}

void test_wss_private_ca() {
    Pki pki = make_pki();
    ServerProcess server({"--tls-cert", pki.leaf, "--tls-key", pki.key});
    g_assert_true(server.tls());
    std::string url = server.ws_url(); // wss://127.0.0.1:PORT/ws

    PeerProcess a("tls-a", url, "tls-room", {"--ca-file", pki.ca});
    std::string joined = a.wait_event("joined", {}, kJoinTimeoutMs);
    g_assert_false(joined.empty());
    std::string a_id = json_str(joined, "id");
    PeerProcess b("tls-b", url, "tls-room", {"--ca-file", pki.ca});
    joined = b.wait_event("joined", {}, kJoinTimeoutMs);
    g_assert_false(joined.empty());
    std::string b_id = json_str(joined, "id");
    for (const char *kind : {"video", "audio"}) {
        g_assert_false(a.wait_first_frame(kind, b_id).empty());
        g_assert_false(b.wait_first_frame(kind, a_id).empty());
    }

    // Without the CA the certificate is untrusted: retries, then gives up with a reason.
    PeerProcess c("tls-untrusted", url, "tls-room-2", {"--connect-timeout", "3"});
    g_assert_true(c.wait_exit(kJoinTimeoutMs + kExitTimeoutMs));
    g_assert_cmpint(c.exit_status(), ==, 1);
    bool joined_c = false, retried = false;
    std::string error;
    for (const auto &e : c.events()) {
        std::string name = json_str(e, "event");
        joined_c |= name == "joined";
        retried |= name == "reconnecting";
        if (name == "error")
            error = e;
    }
    g_assert_false(joined_c);
    g_assert_true(retried);
    g_assert_false(error.empty());
    check_str_eq(json_str(error, "code").c_str(), "signaling");
    if (json_str(error, "message").find("--ca-file") == std::string::npos)
        g_printerr("error event: %s\n", error.c_str());
    g_assert_true(json_str(error, "message").find("--ca-file") != std::string::npos);
    g_assert_true(server.alive());
}

// ---- coturn ----

bool have_coturn() {
    auto found = [] {
        gchar *a = g_find_program_in_path("turnserver");
        gchar *b = g_find_program_in_path("turnutils_uclient");
        bool both = a && b;
        g_free(a);
        g_free(b);
        return both;
    };
    if (found())
        return true;
    std::string out;
    int rc = run({"apt-get", "install", "-y", "coturn"}, &out);
    if (rc != 0)
        g_printerr("apt-get install -y coturn failed (%d):\n%s\n", rc, out.c_str());
    return found();
}

// The first IPv4 address of an interface that is up and not loopback, or "".
//
// libnice (webrtcbin's ICE agent) ignores loopback interfaces and pins each host socket to
// its interface (IP_UNICAST_IF), so a TURN server on 127.0.0.1 is unreachable for it: the
// Allocate goes out eth0 and is lost. coturn therefore listens on this machine's own
// address; the packets still never leave the host.
std::string host_ipv4() {
    struct ifaddrs *list = nullptr;
    if (getifaddrs(&list) != 0)
        return "";
    std::string found;
    for (auto *i = list; i && found.empty(); i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
            (i->ifa_flags & IFF_LOOPBACK))
            continue;
        char text[INET_ADDRSTRLEN] = {};
        auto *in = reinterpret_cast<const sockaddr_in *>(i->ifa_addr);
        if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof text))
            found = text;
    }
    freeifaddrs(list);
    return found;
}

// turnserver on this host with the TURN REST API secret; its log goes to a file we read.
class TurnServer {
  public:
    TurnServer(const std::string &ip, const std::string &secret) : ip_(ip) {
        port_ = free_port(ip_);
        std::string dir = scratch_dir() + "/turn-" + std::to_string(port_);
        g_assert_cmpint(g_mkdir_with_parents(dir.c_str(), 0700), ==, 0);
        log_path_ = dir + "/turnserver.log";
        // A relay range of our own: two tests in a row must not collide on lingering ports.
        int min_port = 50000 + int(port_ % 300) * 40;
        std::vector<std::string> args{"turnserver",
                                      "-n",
                                      "--verbose",
                                      "--listening-ip=" + ip_,
                                      "--relay-ip=" + ip_,
                                      "--listening-port=" + std::to_string(port_),
                                      "--min-port=" + std::to_string(min_port),
                                      "--max-port=" + std::to_string(min_port + 39),
                                      "--use-auth-secret",
                                      "--static-auth-secret=" + secret,
                                      "--realm=duet.test",
                                      "--no-cli",
                                      "--no-tls",
                                      "--no-dtls",
                                      "--db=" + dir + "/turndb",
                                      "--pidfile=" + dir + "/turnserver.pid",
                                      "--log-file=stdout",
                                      "--simple-log"};
        std::vector<const char *> argv;
        for (auto &a : args)
            argv.push_back(a.c_str());
        argv.push_back(nullptr);
        GSubprocessLauncher *l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_MERGE);
        g_subprocess_launcher_set_stdout_file_path(l, log_path_.c_str());
        g_subprocess_launcher_set_child_setup(l, die_with_parent, nullptr, nullptr);
        GError *err = nullptr;
        proc_ = g_subprocess_launcher_spawnv(l, argv.data(), &err);
        g_object_unref(l);
        if (!proc_)
            g_error("cannot start turnserver: %s", err->message);
        g_subprocess_wait_async(
            proc_, nullptr,
            [](GObject *, GAsyncResult *, gpointer self) {
                static_cast<TurnServer *>(self)->done_ = true;
            },
            this);
        std::string ready = "UDP listener opened on: " + ip_ + ":" + std::to_string(port_);
        bool up = wait_until([&] { return done_ || log().find(ready) != std::string::npos; },
                             kTurnReadyMs);
        if (!up || done_) {
            g_printerr("turnserver did not start:\n%s\n", log().c_str());
            g_assert_not_reached();
        }
    }
    ~TurnServer() {
        if (!done_) {
            g_subprocess_send_signal(proc_, SIGTERM);
            if (!wait_until([this] { return done_; }, kExitTimeoutMs)) {
                g_subprocess_force_exit(proc_);
                wait_until([this] { return done_; }, kExitTimeoutMs);
            }
        }
        g_object_unref(proc_);
    }
    guint16 port() const { return port_; }
    const std::string &ip() const { return ip_; }
    std::string log() const { return read_text(log_path_); }
    bool alive() const { return !done_; }

  private:
    std::string ip_;
    guint16 port_ = 0;
    std::string log_path_;
    GSubprocess *proc_ = nullptr;
    bool done_ = false;
};

// TURN REST API credentials (coturn --use-auth-secret): username "expiry:who", password
// base64(HMAC-SHA1(secret, username)).
std::pair<std::string, std::string> rest_credentials(const std::string &secret, gint64 expiry,
                                                     const char *who) {
    std::string user = std::to_string(expiry) + ":" + who;
    GHmac *h =
        g_hmac_new(G_CHECKSUM_SHA1, reinterpret_cast<const guchar *>(secret.data()), secret.size());
    g_hmac_update(h, reinterpret_cast<const guchar *>(user.data()), gssize(user.size()));
    guint8 digest[20];
    gsize len = sizeof digest;
    g_hmac_get_digest(h, digest, &len);
    g_hmac_unref(h);
    gchar *b64 = g_base64_encode(digest, len);
    std::string pass = b64;
    g_free(b64);
    return {user, pass};
}

constexpr const char *kSecret = "duet-test-turn-secret";

// Skips (with the reason) when coturn is unavailable or there is no address to run it on.
std::string turn_ip_or_skip() {
    if (!have_coturn()) {
        g_test_skip("coturn (turnserver, turnutils_uclient) is not installed and "
                    "`apt-get install -y coturn` failed");
        return "";
    }
    std::string ip = host_ipv4();
    if (ip.empty())
        g_test_skip("no non-loopback IPv4 address: libnice cannot reach a TURN server on "
                    "loopback");
    return ip;
}

void test_relay_only_through_coturn() {
    std::string ip = turn_ip_or_skip();
    if (ip.empty())
        return;
    TurnServer turn(ip, kSecret);
    std::string secret_file = scratch_dir() + "/turn-secret";
    g_assert_true(g_file_set_contents(secret_file.c_str(), kSecret, -1, nullptr));
    ServerProcess server(
        {"--turn-uri", "turn:" + turn.ip() + ":" + std::to_string(turn.port()) + "?transport=udp",
         "--turn-secret-file", secret_file});
    PeerProcess a("relay-a", server.ws_url(), "relay-room", {"--relay-only"});
    std::string joined = a.wait_event("joined", {}, kJoinTimeoutMs);
    g_assert_false(joined.empty());
    std::string a_id = json_str(joined, "id");
    PeerProcess b("relay-b", server.ws_url(), "relay-room", {"--relay-only"});
    joined = b.wait_event("joined", {}, kJoinTimeoutMs);
    g_assert_false(joined.empty());
    std::string b_id = json_str(joined, "id");
    for (const char *kind : {"video", "audio"}) {
        bool ok_a = !a.wait_first_frame(kind, b_id).empty();
        bool ok_b = !b.wait_first_frame(kind, a_id).empty();
        if (!ok_a || !ok_b)
            g_printerr("--- turnserver log ---\n%s\n", turn.log().c_str());
        g_assert_true(ok_a && ok_b);
    }
    // Relayed for real: each peer allocated a relay on coturn and opened it to the other
    // (a permission, or a channel binding which installs one). With the relay policy no
    // other candidate pair exists, so the media above went through these.
    std::string log = turn.log();
    std::size_t allocs = count(log, "incoming packet ALLOCATE processed, success");
    std::size_t opened = count(log, "incoming packet CREATE_PERMISSION processed, success") +
                         count(log, "incoming packet CHANNEL_BIND processed, success");
    if (allocs < 2 || opened < 2)
        g_printerr("--- turnserver log ---\n%s\n", log.c_str());
    g_assert_cmpuint(allocs, >=, 2);
    g_assert_cmpuint(opened, >=, 2);
    g_assert_true(turn.alive());
}

void test_expired_credential_refused() {
    std::string ip = turn_ip_or_skip();
    if (ip.empty())
        return;
    TurnServer turn(ip, kSecret);
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    auto uclient = [&](const std::pair<std::string, std::string> &cred, std::string *out) {
        return run({"turnutils_uclient", "-u", cred.first, "-w", cred.second, "-p",
                    std::to_string(turn.port()), "-y", "-n", "1", turn.ip()},
                   out);
    };
    auto expired = rest_credentials(kSecret, now - 60, "peer");
    std::string out;
    int rc = uclient(expired, &out);
    if (rc == 0 || out.find("Cannot complete Allocation") == std::string::npos)
        g_printerr("uclient with an expired credential (%d):\n%s\n", rc, out.c_str());
    g_assert_cmpint(rc, !=, 0);
    g_assert_true(out.find("Cannot complete Allocation") != std::string::npos);
    // coturn said so too, and allocated nothing for that user.
    std::string log = turn.log();
    g_assert_cmpuint(count(log, "user <" + expired.first +
                                    ">: incoming packet ALLOCATE "
                                    "processed, success"),
                     ==, 0);

    auto fresh = rest_credentials(kSecret, now + 600, "peer");
    rc = uclient(fresh, &out);
    if (rc != 0)
        g_printerr("uclient with a fresh credential (%d):\n%s\n", rc, out.c_str());
    g_assert_cmpint(rc, ==, 0);
    log = turn.log();
    g_assert_cmpuint(count(log, "user <" + fresh.first +
                                    ">: incoming packet ALLOCATE "
                                    "processed, success"),
                     >=, 1);

    // And a wrong secret is refused the same way as an expired one.
    auto forged = rest_credentials("not-the-secret", now + 600, "peer");
    g_assert_cmpint(uclient(forged, &out), !=, 0);
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/peer-tls/wss-private-ca", test_wss_private_ca);
    g_test_add_func("/peer-turn/relay-only", test_relay_only_through_coturn);
    g_test_add_func("/peer-turn/expired-credential", test_expired_credential_refused);
    return finish_tests(g_test_run());
}

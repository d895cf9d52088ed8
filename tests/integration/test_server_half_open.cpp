// SPDX-License-Identifier: MIT
// Integration test: a member whose TCP connection goes half-open (the far end vanishes with
// no FIN or RST: cable pulled, laptop lid shut, NAT binding lost) is found by the server's
// ping/pong within 15 s, the other member is told, and the seat is freed. No root needed: a
// proxy inside the test forwards the WebSocket, then stops forwarding in both directions
// without closing, so the server's kernel still gets ACKs but its pings are never answered.
#include "harness.h"
#ifdef DUET_TEST_MEDIA_CALL
#include "peer_harness.h"
#endif

#include "tests/check_str.h"

#include <glib.h>

#include <memory>
#include <string>
#include <vector>

using namespace duet::testing;

namespace {

// Upper bound the server promises for noticing a dead peer (docs/BAD-INPUT.md).
constexpr unsigned kDetectMs = 15000;

// A TCP proxy on 127.0.0.1 driven by the default main context (the harness's waits iterate
// it). blackhole() freezes every connection: nothing is read or forwarded any more, yet
// both sockets stay open, exactly what a vanished peer looks like from the server.
class BlackholeProxy {
  public:
    explicit BlackholeProxy(guint16 upstream_port) : upstream_port_(upstream_port) {
        GError *err = nullptr;
        listener_ =
            g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &err);
        g_assert_no_error(err);
        GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
        GSocketAddress *addr = g_inet_socket_address_new(lo, 0);
        g_object_unref(lo);
        g_assert_true(g_socket_bind(listener_, addr, TRUE, &err));
        g_object_unref(addr);
        g_assert_true(g_socket_listen(listener_, &err));
        GSocketAddress *local = g_socket_get_local_address(listener_, &err);
        g_assert_no_error(err);
        port_ = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
        g_object_unref(local);
        accept_source_ = g_socket_create_source(listener_, G_IO_IN, nullptr);
        g_source_set_callback(accept_source_,
                              G_SOURCE_FUNC(+[](GSocket *, GIOCondition, BlackholeProxy *self) {
                                  self->accept_one();
                                  return gboolean(G_SOURCE_CONTINUE);
                              }),
                              this, nullptr);
        g_source_attach(accept_source_, nullptr);
    }

    ~BlackholeProxy() {
        blackhole();
        for (auto &l : links_) {
            g_socket_close(l->down, nullptr);
            g_socket_close(l->up, nullptr);
            g_object_unref(l->down);
            g_object_unref(l->up);
        }
        g_source_destroy(accept_source_);
        g_source_unref(accept_source_);
        g_socket_close(listener_, nullptr);
        g_object_unref(listener_);
    }

    guint16 port() const { return port_; }

    // Stops forwarding in both directions; the sockets stay open and keep ACKing.
    void blackhole() {
        for (auto &l : links_)
            l->stop();
    }

  private:
    // One proxied connection: `down` is the client's side, `up` the server's.
    struct Link {
        GSocket *down = nullptr, *up = nullptr;
        GSource *from_down = nullptr, *from_up = nullptr;
        void stop() {
            for (GSource **s : {&from_down, &from_up}) {
                if (*s) {
                    g_source_destroy(*s);
                    g_source_unref(*s);
                    *s = nullptr;
                }
            }
        }
    };
    struct Direction {
        Link *link;
        bool from_down;
    };

    void accept_one() {
        GSocket *down = g_socket_accept(listener_, nullptr, nullptr);
        if (!down)
            return;
        GError *err = nullptr;
        GSocket *up =
            g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &err);
        g_assert_no_error(err);
        GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
        GSocketAddress *addr = g_inet_socket_address_new(lo, upstream_port_);
        g_object_unref(lo);
        g_assert_true(g_socket_connect(up, addr, nullptr, &err));
        g_object_unref(addr);
        auto link = std::make_unique<Link>();
        link->down = down;
        link->up = up;
        link->from_down = watch(down, new Direction{link.get(), true});
        link->from_up = watch(up, new Direction{link.get(), false});
        links_.push_back(std::move(link));
    }

    static GSource *watch(GSocket *s, Direction *d) {
        GSource *src = g_socket_create_source(s, G_IO_IN, nullptr);
        g_source_set_callback(src, G_SOURCE_FUNC(forward), d,
                              [](gpointer d) { delete static_cast<Direction *>(d); });
        g_source_attach(src, nullptr);
        return src;
    }

    // Copies what arrived on one side to the other; an end or error on either side ends
    // the link the ordinary way (both closed), which is not what this test is about.
    static gboolean forward(GSocket *, GIOCondition, gpointer data) {
        auto *d = static_cast<Direction *>(data);
        GSocket *in = d->from_down ? d->link->down : d->link->up;
        GSocket *out = d->from_down ? d->link->up : d->link->down;
        char buf[16384];
        gssize n = g_socket_receive(in, buf, sizeof buf, nullptr, nullptr);
        bool ok = n > 0;
        for (gssize sent = 0; ok && sent < n;) {
            gssize k = g_socket_send(out, buf + sent, gsize(n - sent), nullptr, nullptr);
            ok = k > 0;
            sent += k;
        }
        if (ok)
            return G_SOURCE_CONTINUE;
        g_socket_shutdown(out, FALSE, TRUE, nullptr);
        g_socket_shutdown(in, FALSE, TRUE, nullptr);
        // Returning REMOVE destroys this source; the Link no longer owns it.
        GSource **mine = d->from_down ? &d->link->from_down : &d->link->from_up;
        g_source_unref(*mine);
        *mine = nullptr;
        return G_SOURCE_REMOVE;
    }

    guint16 upstream_port_;
    guint16 port_ = 0;
    GSocket *listener_ = nullptr;
    GSource *accept_source_ = nullptr;
    std::vector<std::unique_ptr<Link>> links_;
};

guint16 port_of(const std::string &http_url) {
    // http://127.0.0.1:PORT/
    return guint16(g_ascii_strtoull(http_url.c_str() + http_url.rfind(':') + 1, nullptr, 10));
}

std::string join_msg(const std::string &room) {
    return "{\"type\":\"join\",\"room\":\"" + room + "\"}";
}

void test_half_open_member_is_dropped() {
    // A one-second grace, so the freed seat can be shown within the test.
    ServerProcess server({"--resume-grace", "1"});
    BlackholeProxy proxy(port_of(server.http_url()));
    std::string via_proxy = "ws://127.0.0.1:" + std::to_string(proxy.port()) + "/ws";

    Client stays(server.ws_url());
    auto vanishing = std::make_unique<Client>(via_proxy);
    g_assert_true(vanishing->open());
    stays.send(join_msg("half-open"));
    g_assert_false(stays.next("joined").empty());
    vanishing->send(join_msg("half-open"));
    std::string jv = vanishing->next("joined");
    g_assert_false(jv.empty());
    g_assert_false(stays.next("peer-joined").empty());

    // The peer vanishes: from now on nothing it sends or is sent gets through, and nothing
    // closes. Its last frame (the join) reached the server just before this moment.
    proxy.blackhole();
    gint64 t0 = g_get_monotonic_time();
    std::string left = stays.next("peer-left", kDetectMs);
    double detect_s = double(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
    g_test_message("half-open peer detected after %.1f s (bound %u s)", detect_s, kDetectMs / 1000);
    g_assert_false(left.empty());
    check_str(json_str(left, "id"), ==, json_str(jv, "id").c_str());
    check_str(json_str(left, "reason"), ==, "dropped");

    // After the resume grace the seat is free: a newcomer gets in.
    check_str(json_str(stays.next("peer-left", 5000), "reason"), ==, "expired");
    Client newcomer(server.ws_url());
    newcomer.send(join_msg("half-open"));
    std::string jn = newcomer.next("joined");
    g_assert_false(jn.empty());
    g_assert_cmpuint(json_strs(jn, "peers").size(), ==, 1);

    // The vanished client never heard a thing: its socket is still "open" on its side.
    g_assert_true(vanishing->open());
    assert_call_completes(server);
#ifdef DUET_TEST_MEDIA_CALL
    assert_media_call_completes(server);
#endif
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/server/half-open-tcp", test_half_open_member_is_dropped);
#ifdef DUET_TEST_MEDIA_CALL
    return finish_tests(g_test_run());
#else
    return g_test_run();
#endif
}

// SPDX-License-Identifier: MIT
// duet-server's front door: accepts TCP connections, enforces the connection caps and the
// request-head timeout, and hands each complete request head to libsoup.
//
// Why not libsoup's own listener: it stops accepting for good after one failed accept()
// (EMFILE when descriptors run out), it has no limit on how long or how large a request
// head may be, and it answers a request line it cannot parse with an empty 400. Here a
// failed accept pauses and retries, every connection counts towards --max-connections and
// --max-connections-per-ip from the moment it is accepted, a head must arrive within
// --http-timeout and fit in kMaxHeadBytes, and a stray '%' in the target is escaped.
#pragma once

#include "common/main_thread.h"
#include "common/ref.h"

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

namespace duet::signaling {

class Acceptor {
  public:
    struct Limits {
        unsigned max_connections = 1000;
        unsigned max_per_ip = 64;
        unsigned http_timeout_seconds = 10;
    };
    struct Counters {
        std::uint64_t accepted = 0;
        std::uint64_t refused_busy = 0;    // over max_connections: 503
        std::uint64_t refused_per_ip = 0;  // over max_per_ip: 429
        std::uint64_t timed_out = 0;       // head (or response) not done in http_timeout
        std::uint64_t head_too_large = 0;  // 431
        std::uint64_t accept_errors = 0;   // accept() failed (EMFILE, ...)
        std::uint64_t dropped_at_once = 0; // refused unanswered: too many TLS refusals at once
    };

    // A head larger than this is answered 431. Browsers send about 1 KiB; nginx's default
    // (large_client_header_buffers 4 8k) allows 32 KiB as well.
    static constexpr std::size_t kMaxHeadBytes = 32 * 1024;

    // `tls` (may be null) makes every connection TLS. The acceptor must not outlive `soup`.
    Acceptor(SoupServer *soup, GTlsCertificate *tls, Limits limits);
    ~Acceptor();
    Acceptor(const Acceptor &) = delete;
    Acceptor &operator=(const Acceptor &) = delete;

    // Starts accepting on a bound, listening socket (non-owning: keep it alive).
    void start(GSocket *listening);
    // Times out slow connections; call about once a second.
    void tick(gint64 now_us);

    // The TCP socket under a request libsoup is handling (null if unknown).
    GSocket *socket_of(SoupServerMessage *msg) const;
    // The request's connection became a WebSocket: it no longer has an HTTP deadline.
    void upgraded(SoupServerMessage *msg);

    // False once accept() has been failing for longer than `grace_us` (the listener is as
    // good as dead: a supervisor should restart the process).
    bool accepting(gint64 now_us, gint64 grace_us) const;
    bool paused() const { return failing_since_us_ != 0; }
    std::size_t open() const { return conns_.size(); }
    const Counters &counters() const { return counters_; }

  private:
    struct Conn;
    static gboolean on_listen_ready(gint fd, GIOCondition, gpointer self);
    static void on_tcp_gone(gpointer conn, GObject *);
    static void on_handshake(GObject *tls, GAsyncResult *res, gpointer conn);
    static gboolean on_readable(GObject *, gpointer conn);
    bool accept_some();
    void pause();
    void admit(int fd);
    void watch_input(Conn *c);
    gboolean head_done(Conn *c, std::size_t end);
    void refuse_over_cap(Conn *c);
    void refuse(Conn *c, unsigned status, const char *reason, const char *body);
    void drop(Conn *c);
    guint watch_listener();

    SoupServer *soup_;
    Ref<GTlsCertificate> tls_; // or null
    Limits limits_;
    int listen_fd_ = -1;
    guint watch_ = 0; // on lifeline_'s context, as are retry_ and every Conn's source
    guint retry_ = 0;
    gint64 failing_since_us_ = 0; // first failed accept() of the current failing stretch
    Counters counters_;
    std::unordered_map<Conn *, std::unique_ptr<Conn>> conns_;
    // libsoup hands back the very remote-address object it was given: requests map to
    // their connection through it.
    std::unordered_map<GSocketAddress *, Conn *> by_remote_;
    std::unordered_map<std::string, unsigned> per_ip_; // counted connections by address
    unsigned counted_ = 0;                             // connections within the caps
    unsigned lingering_ = 0;                           // answered, draining before the close
    // The context the acceptor was created on: everything it watches is attached there.
    Lifeline lifeline_;
};

} // namespace duet::signaling

// SPDX-License-Identifier: MIT
// Accept loop with caps and backoff, request-head reader with timeout and size limit.
#include "acceptor.h"

#include "replay_stream.h"

#include <glib-unix.h>

#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace duet::signaling {

namespace {

// Connections taken per wake-up, so a flood of them cannot starve the WebSockets.
constexpr int kAcceptBatch = 64;
// After a failed accept() (no descriptors), try again this often. Connections wait in the
// kernel's backlog meanwhile instead of being refused.
constexpr guint kAcceptRetryMs = 100;
// A refused connection (503, 429, 431) is answered at once, then read from and discarded
// for up to this long before it is closed: closing a socket with unread bytes resets it,
// and the client could lose the answer...
constexpr gint64 kLingerUs = 1 * G_USEC_PER_SEC;
// ...but at most this many linger at once (each holds a descriptor); beyond that, a
// refused connection is closed right after its answer and what had arrived of its request.
constexpr unsigned kMaxLingering = 32;

bool is_hex(char c) {
    return g_ascii_isxdigit(c);
}

// libsoup refuses a request target with a '%' that does not start an escape (a link such
// as "/?room=100%") with an empty 400. Escaping such a '%' keeps the page working: the
// browser still shows and reads the target as it was typed.
std::string escape_stray_percents(const std::string &head) {
    std::size_t line_end = head.find('\n');
    if (line_end == std::string::npos)
        return head;
    std::string out;
    out.reserve(head.size() + 8);
    for (std::size_t i = 0; i < line_end; ++i) {
        out += head[i];
        if (head[i] == '%' && !(i + 2 < line_end && is_hex(head[i + 1]) && is_hex(head[i + 2])))
            out += "25";
    }
    out.append(head, line_end, std::string::npos);
    return out;
}

// End of the request head (after its blank line), or npos. libsoup accepts bare LFs too.
std::size_t head_end(const std::string &s) {
    std::size_t crlf = s.find("\r\n\r\n");
    std::size_t lf = s.find("\n\n");
    std::size_t a = crlf == std::string::npos ? std::string::npos : crlf + 4;
    std::size_t b = lf == std::string::npos ? std::string::npos : lf + 2;
    return std::min(a, b);
}

std::string ip_of(GSocketAddress *addr) {
    if (!G_IS_INET_SOCKET_ADDRESS(addr))
        return "";
    gchar *s =
        g_inet_address_to_string(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(addr)));
    std::string ip = s;
    g_free(s);
    return ip;
}

// An attached GSource this code owns: destroyed (so it never fires again) and unreffed.
class AttachedSource {
  public:
    AttachedSource() = default;
    ~AttachedSource() { reset(); }
    AttachedSource(const AttachedSource &) = delete;
    AttachedSource &operator=(const AttachedSource &) = delete;

    GSource *get() const { return s_; }
    explicit operator bool() const { return s_ != nullptr; }
    void reset(GSource *s = nullptr) {
        if (GSource *old = std::exchange(s_, s)) {
            g_source_destroy(old);
            g_source_unref(old);
        }
    }

  private:
    GSource *s_ = nullptr;
};

const char *reason_phrase(unsigned status) {
    switch (status) {
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

} // namespace

struct Acceptor::Conn {
    enum class Phase { Handshake, Head, Http, Upgraded, Lingering };
    Acceptor *owner;
    GSocketConnection *tcp; // borrowed: this record lives exactly as long as it does
    GSocket *socket;        // borrowed from tcp
    // Held while the head is read: tcp, or TLS over it. The last reference to tcp, so
    // letting go of it may free this record (on_tcp_gone).
    Ref<GIOStream> stream;
    Ref<GSocketAddress> remote;
    Ref<GCancellable> cancel; // cancels a TLS handshake
    // Input watch while reading or lingering, attached to the acceptor's context.
    AttachedSource source;
    std::string ip;
    std::string head;
    Phase phase = Phase::Head;
    gint64 deadline_us = 0; // 0: none
    // Over a cap: answered with this status once its head is in. 0: a normal connection.
    unsigned refuse_status = 0;
    bool counted = false;
};

Acceptor::Acceptor(SoupServer *soup, GTlsCertificate *tls, Limits limits)
    : soup_(soup), tls_(Ref<GTlsCertificate>::ref(tls)), limits_(limits) {}

Acceptor::~Acceptor() {
    lifeline_.remove(watch_);
    lifeline_.remove(retry_);
    std::vector<Ref<GIOStream>> streams;
    for (auto &[p, c] : conns_) {
        // Forget every connection; libsoup and the hub close the ones they hold.
        g_object_weak_unref(G_OBJECT(c->tcp), on_tcp_gone, c.get());
        g_cancellable_cancel(c->cancel.get());
        if (c->stream)
            streams.push_back(std::move(c->stream));
    }
    conns_.clear();
    streams.clear(); // after the records: nothing refers to them any more
}

void Acceptor::start(GSocket *listening) {
    listen_fd_ = g_socket_get_fd(listening);
    watch_ = watch_listener();
}

guint Acceptor::watch_listener() {
    GSource *src = g_unix_fd_source_new(listen_fd_, G_IO_IN);
    g_source_set_callback(src, G_SOURCE_FUNC(on_listen_ready), this, nullptr);
    guint id = g_source_attach(src, lifeline_.context());
    g_source_unref(src);
    return id;
}

gboolean Acceptor::on_listen_ready(gint, GIOCondition, gpointer self) {
    auto *a = static_cast<Acceptor *>(self);
    if (a->accept_some())
        return G_SOURCE_CONTINUE;
    a->watch_ = 0;
    return G_SOURCE_REMOVE;
}

bool Acceptor::accept_some() {
    for (int i = 0; i < kAcceptBatch; ++i) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            if (failing_since_us_) {
                g_message("accepting connections again after %.1f s",
                          double(g_get_monotonic_time() - failing_since_us_) / 1e6);
                failing_since_us_ = 0;
            }
            admit(fd);
            continue;
        }
        int e = errno;
        if (e == EINTR || e == ECONNABORTED || e == EPROTO)
            continue; // that one connection is gone; the listener is fine
        if (e == EAGAIN || e == EWOULDBLOCK) {
            failing_since_us_ = 0;
            return true;
        }
        ++counters_.accept_errors;
        if (!failing_since_us_) {
            failing_since_us_ = g_get_monotonic_time();
            g_warning("cannot accept connections: %s (%u open); retrying every %u ms",
                      g_strerror(e), unsigned(conns_.size()), kAcceptRetryMs);
        }
        pause();
        return false;
    }
    return true;
}

// Stops watching the listener (it stays readable while accept() fails, which would spin)
// and looks again shortly.
void Acceptor::pause() {
    if (retry_)
        return;
    retry_ = lifeline_.add_timeout(
        kAcceptRetryMs,
        [](gpointer self) -> gboolean {
            auto *a = static_cast<Acceptor *>(self);
            a->retry_ = 0;
            if (!a->accept_some())
                return G_SOURCE_REMOVE; // accept_some() scheduled the next try
            if (!a->watch_)
                a->watch_ = a->watch_listener();
            return G_SOURCE_REMOVE;
        },
        this);
}

bool Acceptor::accepting(gint64 now_us, gint64 grace_us) const {
    return !failing_since_us_ || now_us - failing_since_us_ < grace_us;
}

void Acceptor::admit(int fd) {
    GSocket *sock = g_socket_new_from_fd(fd, nullptr);
    if (!sock) {
        close(fd);
        return;
    }
    auto remote = Ref<GSocketAddress>::adopt(g_socket_get_remote_address(sock, nullptr));
    if (!remote) { // already reset by the client
        g_object_unref(sock);
        return;
    }
    ++counters_.accepted;
    std::string ip = ip_of(remote.get());
    unsigned status = 0;
    if (counted_ >= limits_.max_connections) {
        status = 503;
        ++counters_.refused_busy;
    } else if (auto it = per_ip_.find(ip);
               it != per_ip_.end() && it->second >= limits_.max_per_ip) {
        status = 429;
        ++counters_.refused_per_ip;
    }
    // Answering over TLS costs a handshake: under a flood, only while few linger.
    if (status && tls_ && lingering_ >= kMaxLingering) {
        ++counters_.dropped_at_once;
        g_object_unref(sock); // closes it
        return;
    }
    // Signaling is small request/response frames: Nagle plus the peer's delayed ACK
    // would hold each one back by up to 40 ms.
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    auto owned = std::make_unique<Conn>();
    Conn *c = owned.get();
    c->owner = this;
    c->socket = sock;
    c->remote = std::move(remote);
    c->cancel = Ref<GCancellable>::adopt(g_cancellable_new());
    c->ip = std::move(ip);
    c->refuse_status = status;
    gint64 now = g_get_monotonic_time();
    c->deadline_us = now + gint64(limits_.http_timeout_seconds) * G_USEC_PER_SEC;
    if (!status) {
        c->counted = true;
        ++counted_;
        ++per_ip_[c->ip];
    }
    GSocketConnection *tcp = g_socket_connection_factory_create_connection(sock);
    g_object_unref(sock); // tcp holds it now
    c->tcp = tcp;
    g_object_weak_ref(G_OBJECT(tcp), on_tcp_gone, c);
    conns_.emplace(c, std::move(owned));
    by_remote_.emplace(c->remote.get(), c);

    if (!tls_) {
        c->stream = Ref<GIOStream>::adopt(G_IO_STREAM(tcp));
        if (status)
            refuse_over_cap(c);
        else
            watch_input(c);
        return;
    }
    GError *err = nullptr;
    GIOStream *tls = g_tls_server_connection_new(G_IO_STREAM(tcp), tls_.get(), &err);
    if (!tls) {
        g_warning("TLS: %s", err->message);
        g_error_free(err);
        g_object_unref(tcp); // gone: on_tcp_gone forgets the record
        return;
    }
    c->stream = Ref<GIOStream>::adopt(tls);
    g_object_unref(tcp); // the TLS stream holds it now
    c->phase = Conn::Phase::Handshake;
    g_tls_connection_handshake_async(G_TLS_CONNECTION(tls), G_PRIORITY_DEFAULT, c->cancel.get(),
                                     on_handshake, c);
}

void Acceptor::on_handshake(GObject *tls, GAsyncResult *res, gpointer data) {
    GError *err = nullptr;
    bool ok = g_tls_connection_handshake_finish(G_TLS_CONNECTION(tls), res, &err);
    if (!ok && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_error_free(err); // the record was dropped (or the acceptor is going away)
        return;
    }
    auto *c = static_cast<Conn *>(data);
    if (!ok) {
        g_debug("TLS handshake with %s failed: %s", c->ip.c_str(), err->message);
        g_error_free(err);
        c->owner->drop(c);
        return;
    }
    c->phase = Conn::Phase::Head;
    if (c->refuse_status)
        c->owner->refuse_over_cap(c);
    else
        c->owner->watch_input(c);
}

void Acceptor::watch_input(Conn *c) {
    GInputStream *in = g_io_stream_get_input_stream(c->stream.get());
    c->source.reset(g_pollable_input_stream_create_source(G_POLLABLE_INPUT_STREAM(in), nullptr));
    g_source_set_callback(c->source.get(), G_SOURCE_FUNC(on_readable), c, nullptr);
    g_source_attach(c->source.get(), lifeline_.context());
}

gboolean Acceptor::on_readable(GObject *, gpointer data) {
    auto *c = static_cast<Conn *>(data);
    Acceptor *a = c->owner;
    auto *in = G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(c->stream.get()));
    char buf[4096];
    // Bounded per wake-up, so one fast sender cannot hold the main loop.
    for (int round = 0; round < 16; ++round) {
        GError *err = nullptr;
        gssize n = g_pollable_input_stream_read_nonblocking(in, buf, sizeof buf, nullptr, &err);
        if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            g_error_free(err);
            return G_SOURCE_CONTINUE;
        }
        if (err)
            g_error_free(err);
        if (n <= 0) { // closed or reset: nothing to answer
            a->drop(c);
            return G_SOURCE_REMOVE;
        }
        if (c->phase == Conn::Phase::Lingering)
            continue; // the rest of a refused request: read so the answer is not reset
        c->head.append(buf, std::size_t(n));
        std::size_t end = head_end(c->head);
        if (end != std::string::npos)
            return a->head_done(c, end); // c may be gone
        if (c->head.size() > kMaxHeadBytes) {
            ++a->counters_.head_too_large;
            a->refuse(c, 431, "headers-too-large", "request headers too large\n");
            return G_SOURCE_CONTINUE; // lingering on the same watch, or destroyed by drop
        }
    }
    return G_SOURCE_CONTINUE;
}

// Over a cap, the answer does not wait for the request: a client that never finishes its
// head must not hold a descriptor for long.
void Acceptor::refuse_over_cap(Conn *c) {
    if (c->refuse_status == 503)
        refuse(c, 503, "max-connections", "server busy, try again\n");
    else
        refuse(c, 429, "per-ip", "too many connections from this address\n");
}

// Returns whether c's input watch stays (it does while a refusal lingers).
gboolean Acceptor::head_done(Conn *c, std::size_t end) {
    if (end > kMaxHeadBytes) {
        ++counters_.head_too_large;
        refuse(c, 431, "headers-too-large", "request headers too large\n");
        return G_SOURCE_CONTINUE; // lingering on the same watch, or destroyed by drop
    }
    c->source.reset();
    c->phase = Conn::Phase::Http;
    // The response must be out within the same time: a client that stops reading it
    // would otherwise hold the connection.
    c->deadline_us = g_get_monotonic_time() + gint64(limits_.http_timeout_seconds) * G_USEC_PER_SEC;
    std::string head = escape_stray_percents(c->head);
    c->head = std::string();
    GIOStream *replay = replay_stream_new(c->stream.get(), head.data(), head.size());
    GSocketAddress *local = g_socket_get_local_address(c->socket, nullptr);
    if (local) {
        soup_server_accept_iostream(soup_, replay, local, c->remote.get(), nullptr);
        g_object_unref(local);
    }
    g_object_unref(replay);
    c->stream.reset(); // last: without libsoup's references the record is gone now
    return G_SOURCE_REMOVE;
}

// Answers a request this server will not serve, then reads (and discards) what the client
// still sends until it closes or the deadline: closing with unread bytes would reset the
// connection, and the client could lose the answer.
void Acceptor::refuse(Conn *c, unsigned status, const char *reason, const char *body) {
    g_info("refused a connection from %s: %u (%s)", c->ip.c_str(), status, reason);
    std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
                    "\r\nServer: duet\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    "Content-Length: " +
                    std::to_string(std::strlen(body)) + "\r\nConnection: close\r\n";
    if (status == 503 || status == 429)
        r += "Retry-After: 1\r\n";
    r += "\r\n";
    r += body;
    auto *out = G_POLLABLE_OUTPUT_STREAM(g_io_stream_get_output_stream(c->stream.get()));
    // Best effort: a few hundred bytes fit in any socket buffer.
    g_pollable_output_stream_write_nonblocking(out, r.data(), r.size(), nullptr, nullptr);
    if (!tls_)
        g_socket_shutdown(c->socket, FALSE, TRUE, nullptr);
    c->head = std::string();
    if (lingering_ >= kMaxLingering) {
        // Take what has arrived, so that at least a client that sent its request at once
        // (every browser does) is not reset, and close.
        auto *in = G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(c->stream.get()));
        char buf[4096];
        for (int i = 0; i < 16; ++i)
            if (g_pollable_input_stream_read_nonblocking(in, buf, sizeof buf, nullptr, nullptr) <=
                0)
                break;
        drop(c);
        return;
    }
    ++lingering_;
    c->phase = Conn::Phase::Lingering;
    c->deadline_us = g_get_monotonic_time() + kLingerUs;
    if (!c->source)
        watch_input(c);
}

// Lets go of a connection this class still holds; the record goes with its last reference.
void Acceptor::drop(Conn *c) {
    c->source.reset();
    g_cancellable_cancel(c->cancel.get());
    c->stream.reset(); // last: may free c
}

void Acceptor::on_tcp_gone(gpointer data, GObject *) {
    auto *c = static_cast<Conn *>(data);
    Acceptor *a = c->owner;
    if (c->counted) {
        --a->counted_;
        if (auto it = a->per_ip_.find(c->ip); it != a->per_ip_.end() && --it->second == 0)
            a->per_ip_.erase(it);
    }
    if (c->phase == Conn::Phase::Lingering)
        --a->lingering_;
    a->by_remote_.erase(c->remote.get());
    a->conns_.erase(c); // frees c
}

void Acceptor::tick(gint64 now_us) {
    std::vector<Conn *> late;
    for (auto &[p, c] : conns_)
        if (c->deadline_us && now_us >= c->deadline_us)
            late.push_back(c.get());
    for (Conn *c : late) {
        if (!conns_.count(c))
            continue; // freed by an earlier drop in this loop
        switch (c->phase) {
        case Conn::Phase::Handshake:
        case Conn::Phase::Head:
            ++counters_.timed_out;
            g_info("closed a connection from %s: no complete request in %u s", c->ip.c_str(),
                   limits_.http_timeout_seconds);
            drop(c);
            break;
        case Conn::Phase::Lingering:
            drop(c);
            break;
        case Conn::Phase::Http:
            // libsoup holds it: shutting the socket down makes its I/O fail and let go.
            ++counters_.timed_out;
            c->deadline_us = 0;
            g_socket_shutdown(c->socket, TRUE, TRUE, nullptr);
            break;
        case Conn::Phase::Upgraded:
            c->deadline_us = 0;
            break;
        }
    }
}

GSocket *Acceptor::socket_of(SoupServerMessage *msg) const {
    auto it = by_remote_.find(soup_server_message_get_remote_address(msg));
    return it == by_remote_.end() ? nullptr : it->second->socket;
}

void Acceptor::upgraded(SoupServerMessage *msg) {
    auto it = by_remote_.find(soup_server_message_get_remote_address(msg));
    if (it == by_remote_.end())
        return;
    it->second->phase = Conn::Phase::Upgraded;
    it->second->deadline_us = 0;
}

} // namespace duet::signaling

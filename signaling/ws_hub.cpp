// SPDX-License-Identifier: MIT
#include "ws_hub.h"

#include <glib-unix.h>

#include <cerrno>
#include <cstring>
#include <sys/epoll.h>
#include <unistd.h>

namespace duet::signaling::ws {

namespace {

// A reader that stops reading while we keep sending is cut off past this backlog.
constexpr std::size_t kMaxOutbuf = 1024 * 1024;
constexpr int kEpollBatch = 256;
constexpr std::size_t kReadChunk = 16 * 1024;

} // namespace

Conn::Conn(Hub *hub, std::uint64_t id, GIOStream *stream, GSocket *socket, std::size_t max_message)
    : hub_(hub), id_(id), stream_(Ref<GIOStream>::ref(stream)), socket_(Ref<GSocket>::ref(socket)),
      in_(G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(stream))),
      out_(G_POLLABLE_OUTPUT_STREAM(g_io_stream_get_output_stream(stream))),
      fd_(g_socket_get_fd(socket)), decoder_(max_message), last_rx_us_(g_get_monotonic_time()) {}

Conn::~Conn() {
    g_socket_close(socket_.get(), nullptr); // no-op when already closed
}

void Conn::send_text(std::string_view text) {
    if (state_ == State::Open)
        queue(Opcode::Text, text);
}

void Conn::close(std::uint16_t code, std::string_view reason) {
    if (state_ != State::Open)
        return;
    close_code_ = code;
    queue(Opcode::Close, close_payload(code, reason));
    state_ = State::Closing;
    closing_since_us_ = g_get_monotonic_time();
    decoder_.discard_data();
}

void Conn::queue(Opcode op, std::string_view payload) {
    if (failed_)
        return;
    if (out_off_ == outbuf_.size()) {
        outbuf_.clear();
        out_off_ = 0;
    }
    append_frame(outbuf_, op, payload);
    if (outbuf_.size() - out_off_ > kMaxOutbuf) {
        g_info("connection %" G_GUINT64_FORMAT ": not reading its messages; dropped", id_);
        failed_ = true; // the next tick ends it
        return;
    }
    if (!want_write_)
        flush();
}

void Conn::flush() {
    while (out_off_ < outbuf_.size()) {
        GError *err = nullptr;
        gssize n = g_pollable_output_stream_write_nonblocking(
            out_, outbuf_.data() + out_off_, outbuf_.size() - out_off_, nullptr, &err);
        if (n > 0) {
            out_off_ += std::size_t(n);
            continue;
        }
        bool again = err && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
        if (!again) {
            g_debug("connection %" G_GUINT64_FORMAT ": write failed: %s", id_,
                    err ? err->message : "no progress");
            failed_ = true; // the read side or the next tick ends it
        }
        g_clear_error(&err);
        if (again && !want_write_) {
            want_write_ = true;
            hub_->update_events(this);
        }
        return;
    }
    outbuf_.clear();
    out_off_ = 0;
    if (outbuf_.capacity() > 16 * 1024)
        std::string().swap(outbuf_);
    if (want_write_) {
        want_write_ = false;
        hub_->update_events(this);
    }
    if (close_after_flush_)
        finish();
}

void Conn::on_writable() {
    if (state_ != State::Closed)
        flush();
}

void Conn::on_readable() {
    std::vector<char> &buf = hub_->readbuf_;
    while (state_ != State::Closed) {
        GError *err = nullptr;
        gssize n =
            g_pollable_input_stream_read_nonblocking(in_, buf.data(), buf.size(), nullptr, &err);
        if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            g_error_free(err);
            return;
        }
        if (n <= 0) {
            g_debug("connection %" G_GUINT64_FORMAT ": %s", id_, err ? err->message : "EOF");
            g_clear_error(&err);
            finish();
            return;
        }
        last_rx_us_ = g_get_monotonic_time();
        if (state_ == State::Closing) {
            drained_ += std::size_t(n);
            if (drained_ > hub_->limits_.max_drain_bytes) {
                finish();
                return;
            }
        }
        // The hub's scratch vector, taken for this batch: callbacks may reach other
        // connections but never another read.
        std::vector<Event> events;
        events.swap(hub_->events_);
        events.clear();
        decoder_.feed(buf.data(), std::size_t(n), events);
        for (auto &e : events) {
            handle(e);
            if (state_ == State::Closed)
                break;
        }
        events.clear();
        hub_->events_.swap(events);
    }
}

void Conn::handle(Event &e) {
    switch (e.kind) {
    case Event::Kind::Message:
        if (state_ == State::Open)
            hub_->listener_->on_message(*this, e.text, e.data);
        break;
    case Event::Kind::Ping:
        if (state_ == State::Open)
            queue(Opcode::Pong, e.data);
        break;
    case Event::Kind::Pong:
        break; // being alive is all it says
    case Event::Kind::Close:
        if (state_ == State::Open) {
            // Their close: echo the code, then end the TCP connection (the server does).
            close_code_ = e.code == 1005 ? kCloseNormal : e.code;
            queue(Opcode::Close, e.code == 1005 ? std::string() : close_payload(e.code, ""));
            state_ = State::Closing;
            decoder_.discard_data();
        }
        close_after_flush_ = true;
        if (out_off_ == outbuf_.size() || failed_)
            finish();
        break;
    case Event::Kind::Error: {
        const char *why = e.code == kCloseTooBig    ? "message too large"
                          : e.code == kCloseBadData ? "text is not UTF-8"
                                                    : "WebSocket protocol error";
        close(e.code, why);
        break;
    }
    }
}

void Conn::finish() {
    if (state_ == State::Closed)
        return;
    state_ = State::Closed;
    epoll_ctl(hub_->epfd_, EPOLL_CTL_DEL, fd_, nullptr);
    g_socket_shutdown(socket_.get(), FALSE, TRUE, nullptr);
    g_socket_close(socket_.get(), nullptr);
    hub_->listener_->on_closed(*this, close_code_ ? close_code_ : 1006);
    hub_->retire(this);
}

Hub::Hub(Listener *listener, Limits limits)
    : listener_(listener), limits_(limits), readbuf_(kReadChunk) {}

Hub::~Hub() {
    lifeline_.remove(watch_);
    lifeline_.remove(pending_idle_);
    for (Conn *c : conns_)
        delete c;
    for (Conn *c : retired_)
        delete c;
    if (epfd_ >= 0)
        ::close(epfd_);
}

Result<void> Hub::start() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0)
        return fail(std::string("epoll_create1: ") + std::strerror(errno));
    GSource *src = g_unix_fd_source_new(epfd_, G_IO_IN);
    g_source_set_callback(src, G_SOURCE_FUNC(on_epoll), this, nullptr);
    watch_ = g_source_attach(src, lifeline_.context());
    g_source_unref(src);
    return {};
}

Conn *Hub::adopt(std::uint64_t id, GIOStream *stream, GSocket *socket) {
    if (!G_IS_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(stream)) ||
        !G_IS_POLLABLE_OUTPUT_STREAM(g_io_stream_get_output_stream(stream)))
        return nullptr;
    auto *c = new Conn(this, id, stream, socket, limits_.max_message);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = c;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c->fd_, &ev) != 0) {
        g_warning("epoll_ctl: %s", std::strerror(errno));
        delete c;
        return nullptr;
    }
    conns_.insert(c);
    // Bytes the HTTP parser read past the request sit in the stream's buffer, where epoll
    // cannot see them: look once the owner has set the connection up.
    if (g_pollable_input_stream_is_readable(c->in_)) {
        pending_.push_back(c);
        if (!pending_idle_)
            pending_idle_ = lifeline_.add_idle(
                [](gpointer self) -> gboolean {
                    auto *h = static_cast<Hub *>(self);
                    h->pending_idle_ = 0;
                    std::vector<Conn *> conns;
                    conns.swap(h->pending_);
                    ++h->depth_;
                    for (Conn *c : conns)
                        if (h->conns_.count(c) && c->state_ != Conn::State::Closed)
                            c->on_readable();
                    --h->depth_;
                    h->free_retired();
                    return G_SOURCE_REMOVE;
                },
                this);
    }
    return c;
}

void Hub::update_events(Conn *c) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (c->want_write_ ? EPOLLOUT : 0u);
    ev.data.ptr = c;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c->fd_, &ev);
}

gboolean Hub::on_epoll(gint, GIOCondition, gpointer self) {
    static_cast<Hub *>(self)->dispatch();
    return G_SOURCE_CONTINUE;
}

void Hub::dispatch() {
    epoll_event evs[kEpollBatch];
    int n = epoll_wait(epfd_, evs, kEpollBatch, 0);
    ++depth_;
    for (int i = 0; i < n; ++i) {
        auto *c = static_cast<Conn *>(evs[i].data.ptr);
        if (c->state_ == Conn::State::Closed)
            continue; // ended earlier in this batch
        if (evs[i].events & EPOLLOUT)
            c->on_writable();
        if (c->state_ != Conn::State::Closed &&
            (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
            c->on_readable();
    }
    --depth_;
    free_retired();
}

void Hub::tick(gint64 now_us) {
    gint64 keepalive = gint64(limits_.keepalive_seconds) * G_USEC_PER_SEC;
    gint64 dead = gint64(limits_.dead_peer_seconds) * G_USEC_PER_SEC;
    gint64 close_timeout = gint64(limits_.close_timeout_seconds) * G_USEC_PER_SEC;
    std::vector<Conn *> ending;
    ++depth_;
    for (Conn *c : conns_) {
        if (c->failed_ ||
            (c->state_ == Conn::State::Closing && now_us - c->closing_since_us_ >= close_timeout)) {
            ending.push_back(c);
        } else if (c->state_ == Conn::State::Open) {
            gint64 silent = now_us - c->last_rx_us_;
            if (silent >= dead) {
                g_info("connection %" G_GUINT64_FORMAT ": silent for %" G_GINT64_FORMAT
                       " s; dropped",
                       c->id_, silent / G_USEC_PER_SEC);
                ending.push_back(c);
            } else if (silent >= keepalive && now_us - c->last_ping_us_ >= keepalive) {
                c->last_ping_us_ = now_us;
                c->queue(Opcode::Ping, {});
            }
        }
    }
    for (Conn *c : ending)
        c->finish();
    --depth_;
    free_retired();
}

void Hub::retire(Conn *c) {
    conns_.erase(c);
    retired_.push_back(c);
}

void Hub::free_retired() {
    if (depth_ > 0)
        return;
    for (Conn *c : retired_)
        delete c;
    retired_.clear();
}

} // namespace duet::signaling::ws

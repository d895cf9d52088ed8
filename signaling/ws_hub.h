// SPDX-License-Identifier: MIT
// The WebSocket connections after their HTTP upgrade: all of them on one epoll set that the
// GLib main loop watches through a single fd.
//
// Why not libsoup's SoupWebsocketConnection: it attaches its own GSources to the main
// context (a reader and a keepalive timer per connection), and every main-loop iteration
// prepares and checks every source. With 10,000 idle sockets that is tens of thousands of
// sources walked per iteration, and relay throughput fell to a few thousand messages per
// second (bench/signaling.sh; perf showed >60% of the time in g_main_context_check and
// _prepare). Here the cost of an iteration is independent of the number of connections.
#pragma once

#include "ws_frame.h"

#include "common/main_thread.h"
#include "common/ref.h"
#include "common/result.h"

#include <gio/gio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace duet::signaling::ws {

class Hub;

// One upgraded connection. Owned by the hub; valid until its on_closed callback returns.
class Conn {
  public:
    enum class State { Open, Closing, Closed };

    bool open() const { return state_ == State::Open; }
    void *user = nullptr; // the owner's per-connection data

    // Queues a text message and writes what the socket takes now.
    void send_text(std::string_view text);
    // Starts the closing handshake: sends a Close frame and waits (briefly) for the
    // peer's, discarding its data meanwhile.
    void close(std::uint16_t code, std::string_view reason);

  private:
    friend class Hub;
    Conn(Hub *hub, std::uint64_t id, GIOStream *stream, GSocket *socket, std::size_t max_message);
    ~Conn();

    void on_readable();
    void on_writable();
    void handle(Event &e);
    void queue(Opcode op, std::string_view payload);
    void flush();
    void finish(); // socket closed: tell the owner, then the hub frees it

    Hub *hub_;
    std::uint64_t id_;
    Ref<GIOStream> stream_; // keeps in_ and out_ alive
    Ref<GSocket> socket_;
    GPollableInputStream *in_;   // borrowed from stream_
    GPollableOutputStream *out_; // borrowed from stream_
    int fd_;
    State state_ = State::Open;
    Decoder decoder_;
    std::string outbuf_;      // bytes not yet taken by the socket
    std::size_t out_off_ = 0; // already written part of outbuf_
    bool want_write_ = false; // EPOLLOUT registered
    bool close_after_flush_ = false;
    gint64 last_rx_us_; // anything received: the peer is alive
    gint64 last_ping_us_ = 0;
    gint64 closing_since_us_ = 0;
    std::size_t drained_ = 0;      // bytes read while closing
    std::uint16_t close_code_ = 0; // sent or received; 0: none yet
    bool failed_ = false;          // write error or backlog: ended at the next tick
};

class Hub {
  public:
    class Listener {
      public:
        virtual ~Listener() = default;
        virtual void on_message(Conn &c, bool text, std::string &data) = 0;
        // The connection is gone (closing handshake done, peer vanished, or error). Called
        // once; the Conn is freed after it returns. `code` is the close code exchanged, or
        // 1006 when the connection simply dropped.
        virtual void on_closed(Conn &c, std::uint16_t code) = 0;
    };
    struct Limits {
        std::size_t max_message = 64 * 1024;
        // Ping a connection that has been silent this long...
        unsigned keepalive_seconds = 5;
        // ...and drop one that has been silent this long (a half-open TCP connection: the
        // cable was pulled or the laptop shut).
        unsigned dead_peer_seconds = 10;
        // A closing handshake the peer does not finish in this time is cut short.
        unsigned close_timeout_seconds = 2;
        // Bytes read and thrown away while closing (a huge frame still arriving) before
        // the connection is cut without waiting for the peer's Close.
        std::size_t max_drain_bytes = 8 * 1024 * 1024;
    };

    Hub(Listener *listener, Limits limits);
    ~Hub(); // drops every connection without callbacks
    Hub(const Hub &) = delete;
    Hub &operator=(const Hub &) = delete;

    // Creates the epoll set and watches it from the thread-default main context.
    // Fails only if the epoll set cannot be created.
    Result<void> start();
    // Takes over an upgraded connection (the 101 response already written). `stream`
    // may already hold bytes read past the HTTP request; they are read first.
    Conn *adopt(std::uint64_t id, GIOStream *stream, GSocket *socket);
    // Pings silent connections, drops dead ones, cuts overdue closing handshakes. Call
    // about once a second.
    void tick(gint64 now_us);

  private:
    friend class Conn;
    static gboolean on_epoll(gint fd, GIOCondition, gpointer self);
    void dispatch();
    void update_events(Conn *c);
    void retire(Conn *c); // after on_closed: free at the end of this round
    void free_retired();

    Listener *listener_;
    Limits limits_;
    int epfd_ = -1;
    guint watch_ = 0; // on lifeline_'s context, as is pending_idle_
    std::unordered_set<Conn *> conns_;
    std::vector<Conn *> retired_;
    std::vector<Event> events_; // scratch
    std::vector<char> readbuf_;
    int depth_ = 0;               // nested dispatch guard: free retired connections only at the top
    std::vector<Conn *> pending_; // adopted with bytes already buffered
    guint pending_idle_ = 0;
    // The context the hub was created on, where it watches the epoll set.
    Lifeline lifeline_;
};

} // namespace duet::signaling::ws

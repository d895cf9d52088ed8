// SPDX-License-Identifier: MIT
// WebSocket transport for the room protocol; owns reconnecting, never the room logic.
#include "src/peer/ws_signaler.h"

#include "common/main_thread.h"

#include <memory>

namespace duet::peer {
namespace {

// Whatever a server may relay (its --max-message-size can be raised to the ceiling), or a
// large but legal relayed message would close our socket with 1009.
constexpr guint64 kMaxIncomingBytes = proto::kMaxMessageCeiling + proto::kRelayEnvelopeBytes;

} // namespace

WsSignaler::WsSignaler(std::string url, unsigned give_up_after_s, const std::string &ca_file)
    : url_(std::move(url)), give_up_after_s_(give_up_after_s) {
    session_ = Ref<SoupSession>::adopt(soup_session_new());
    if (!ca_file.empty()) {
        GError *err = nullptr;
        auto db = Ref<GTlsDatabase>::adopt(g_tls_file_database_new(ca_file.c_str(), &err));
        if (db) {
            g_object_set(session_.get(), "tls-database", db.get(), nullptr);
            g_info("trusting the CA certificates in %s for %s", ca_file.c_str(), url_.c_str());
        } else {
            // parse_cli checked the file; if it changed since, wss:// fails with a
            // certificate error and the usual retries, never silently trusts anything.
            g_warning("cannot load --ca-file %s: %s; using the system's CAs", ca_file.c_str(),
                      err->message);
            g_error_free(err);
        }
    }
}

WsSignaler::~WsSignaler() {
    lifeline_.cut();
    for (guint *t : {&attempt_timer_, &retry_timer_, &close_timer_})
        lifeline_.remove(*t);
    if (connecting_)
        g_cancellable_cancel(connecting_.get());
    drop_connection();
}

void WsSignaler::start(Listener *listener) {
    listener_ = listener;
    connect();
}

bool WsSignaler::is_open() const {
    return ws_ && soup_websocket_connection_get_state(ws_.get()) == SOUP_WEBSOCKET_STATE_OPEN;
}

void WsSignaler::connect() {
    if (closing_)
        return;
    g_info("connecting to %s", url_.c_str());
    auto msg = Ref<SoupMessage>::adopt(soup_message_new("GET", url_.c_str()));
    if (!msg) {
        // The URL was validated at startup; this would be a bug, but not a crash.
        listener_->on_signaler_fatal("cannot make a request for " + url_);
        return;
    }
    connecting_ = Ref<GCancellable>::adopt(g_cancellable_new());
    attempt_timer_ = lifeline_.add_timeout(
        kConnectAttemptTimeoutMs,
        [](gpointer self) -> gboolean {
            auto *s = static_cast<WsSignaler *>(self);
            s->attempt_timer_ = 0;
            if (s->connecting_)
                g_cancellable_cancel(s->connecting_.get());
            return G_SOURCE_REMOVE;
        },
        this);
    // The callback runs after we are gone if we were destroyed mid-attempt: it checks.
    struct Attempt {
        LifelineHandle life;
        WsSignaler *self;
    };
    soup_session_websocket_connect_async(
        session_.get(), msg.get(), nullptr, nullptr, G_PRIORITY_DEFAULT, connecting_.get(),
        [](GObject *src, GAsyncResult *res, gpointer data) {
            std::unique_ptr<Attempt> a(static_cast<Attempt *>(data));
            GError *err = nullptr;
            auto ws = Ref<SoupWebsocketConnection>::adopt(
                soup_session_websocket_connect_finish(SOUP_SESSION(src), res, &err));
            if (!a->life.alive()) {
                g_clear_error(&err);
                return;
            }
            WsSignaler *s = a->self;
            s->lifeline_.remove(s->attempt_timer_);
            s->connecting_.reset();
            if (ws) {
                s->on_connected(std::move(ws));
            } else {
                bool timed_out = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED);
                std::string why = timed_out ? "no answer within " +
                                                  std::to_string(kConnectAttemptTimeoutMs) + " ms"
                                            : std::string(err ? err->message : "unknown error");
                if (err && err->domain == G_TLS_ERROR)
                    why = "TLS: " + why +
                          " (the server's certificate is not trusted; for a private CA pass "
                          "--ca-file with its PEM certificate)";
                s->on_connect_failed(why);
            }
            g_clear_error(&err);
        },
        new Attempt{lifeline_.handle(), this});
}

void WsSignaler::on_connected(Ref<SoupWebsocketConnection> ws) {
    if (closing_) {
        soup_websocket_connection_close(ws.get(), SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
        finish_close();
        return;
    }
    ws_ = std::move(ws);
    soup_websocket_connection_set_max_incoming_payload_size(ws_.get(), kMaxIncomingBytes);
    g_signal_connect_swapped(
        ws_.get(), "message", G_CALLBACK(+[](WsSignaler *s, gint type, GBytes *bytes) {
            if (type != SOUP_WEBSOCKET_DATA_TEXT)
                return;
            gsize n = 0;
            auto *d = static_cast<const char *>(g_bytes_get_data(bytes, &n));
            auto parsed = proto::parse_server(std::string_view(d ? d : "", n));
            if (auto *e = std::get_if<proto::ParseError>(&parsed)) {
                g_message("ignoring a server frame: %s", e->message.c_str());
                return;
            }
            s->listener_->on_signaler_message(std::get<proto::ServerMessage>(parsed));
        }),
        this);
    g_signal_connect_swapped(ws_.get(), "closed",
                             G_CALLBACK(+[](WsSignaler *s) { s->on_closed(); }), this);
    g_signal_connect_swapped(
        ws_.get(), "error",
        G_CALLBACK(+[](WsSignaler *, GError *e) { g_debug("websocket: %s", e->message); }), this);
    backoff_.reset();
    down_since_us_ = 0;
    g_info("connected to %s", url_.c_str());
    listener_->on_signaler_open();
}

void WsSignaler::on_connect_failed(const std::string &why) {
    if (closing_) {
        finish_close();
        return;
    }
    g_warning("cannot reach duet-server at %s: %s", url_.c_str(), why.c_str());
    retry(why);
}

void WsSignaler::on_closed() {
    gushort code = soup_websocket_connection_get_close_code(ws_.get());
    const char *data = soup_websocket_connection_get_close_data(ws_.get());
    std::string reason = data ? data : "";
    drop_connection();
    if (closing_) {
        finish_close();
        return;
    }
    if (code == proto::kCloseSeatReplaced) {
        listener_->on_signaler_replaced(
            "the server handed this seat to a newer connection with our resume token (another "
            "duet-peer with the same identity?); the call continues there");
        return;
    }
    // 0 or 1006: the TCP connection went away without a WebSocket close (server killed,
    // network gone).
    std::string why = code == 0 || code == SOUP_WEBSOCKET_CLOSE_ABNORMAL
                          ? std::string("connection lost")
                          : "connection closed (code " + std::to_string(code) +
                                (reason.empty() ? "" : ", " + reason) + ")";
    g_warning("lost the server: %s", why.c_str());
    listener_->on_signaler_lost(why);
    retry(why);
}

void WsSignaler::retry(const std::string &why) {
    gint64 now = g_get_monotonic_time();
    if (!down_since_us_)
        down_since_us_ = now;
    if (give_up_after_s_ > 0 && now - down_since_us_ >= gint64(give_up_after_s_) * G_USEC_PER_SEC) {
        listener_->on_signaler_fatal("gave up on " + url_ + " after " +
                                      std::to_string(give_up_after_s_) + " s: " + why);
        return;
    }
    unsigned delay = backoff_.next();
    listener_->on_signaler_retry(backoff_.attempt(), delay);
    retry_timer_ = lifeline_.add_timeout(
        delay,
        [](gpointer self) -> gboolean {
            auto *s = static_cast<WsSignaler *>(self);
            s->retry_timer_ = 0;
            s->connect();
            return G_SOURCE_REMOVE;
        },
        this);
}

void WsSignaler::send(const proto::ClientMessage &msg) {
    if (!is_open()) {
        g_debug("not connected; dropping %s", proto::to_json(msg).c_str());
        return;
    }
    soup_websocket_connection_send_text(ws_.get(), proto::to_json(msg).c_str());
}

void WsSignaler::drop_connection() {
    if (!ws_)
        return;
    g_signal_handlers_disconnect_by_data(ws_.get(), this);
    // Unref from an idle: we may be inside the connection's own "closed" emission. Not
    // through the lifeline: the connection must go even if we are gone by then.
    post_to_main(lifeline_.context(), [ws = std::move(ws_)] {});
}

void WsSignaler::close(std::function<void()> done) {
    close_waiters_.push_back(std::move(done));
    if (closing_)
        return;
    closing_ = true;
    lifeline_.remove(retry_timer_);
    if (connecting_) {
        g_cancellable_cancel(connecting_.get()); // on_connect_failed -> finish_close
        return;
    }
    if (!is_open()) {
        drop_connection();
        finish_close();
        return;
    }
    soup_websocket_connection_close(ws_.get(), SOUP_WEBSOCKET_CLOSE_NORMAL, "bye");
    close_timer_ = lifeline_.add_timeout(
        kCloseTimeoutMs,
        [](gpointer self) -> gboolean {
            auto *s = static_cast<WsSignaler *>(self);
            s->close_timer_ = 0;
            g_message("the server did not acknowledge the close; going anyway");
            s->drop_connection();
            s->finish_close();
            return G_SOURCE_REMOVE;
        },
        this);
}

void WsSignaler::finish_close() {
    lifeline_.remove(close_timer_);
    auto waiters = std::move(close_waiters_);
    close_waiters_.clear();
    for (auto &w : waiters)
        if (w)
            post_to_main(lifeline_.context(), w); // the waiter guards itself
}

} // namespace duet::peer

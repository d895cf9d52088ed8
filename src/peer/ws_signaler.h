// SPDX-License-Identifier: MIT
// Signaling over a libsoup-3 WebSocket to duet-server, reconnecting with backoff.
#pragma once

#include "common/main_thread.h"
#include "common/ref.h"
#include "src/peer/backoff.h"
#include "src/peer/signaler.h"

#include <libsoup/soup.h>

#include <memory>
#include <string>
#include <vector>

namespace duet::peer {

// A connection attempt that has not completed in this time is abandoned and retried: a
// silently dropped SYN would otherwise wait for the kernel's ~2 minute TCP timeout.
inline constexpr unsigned kConnectAttemptTimeoutMs = 10000;
// How long a clean close may take before we stop waiting for the server's reply.
inline constexpr unsigned kCloseTimeoutMs = 1000;

class WsSignaler : public Signaler {
  public:
    // give_up_after_s: 0 keeps retrying forever. ca_file: PEM bundle to trust for wss://
    // instead of the system's ("" = system); validated by parse_cli.
    WsSignaler(std::string url, unsigned give_up_after_s, const std::string &ca_file = {});
    ~WsSignaler() override;

    void start(Listener *listener) override;
    void send(const proto::ClientMessage &msg) override;
    void close(std::function<void()> done) override;
    bool is_open() const override;

  private:
    void connect();
    void on_connected(Ref<SoupWebsocketConnection> ws);
    void on_connect_failed(const std::string &why);
    void on_closed();
    void retry(const std::string &why);
    void drop_connection();
    void finish_close();

    std::string url_;
    unsigned give_up_after_s_;
    Listener *listener_ = nullptr;
    Ref<SoupSession> session_;
    Ref<SoupWebsocketConnection> ws_;
    Ref<GCancellable> connecting_; // while an attempt runs
    guint attempt_timer_ = 0;
    guint retry_timer_ = 0;
    guint close_timer_ = 0;
    Backoff backoff_;
    gint64 down_since_us_ = 0; // when the server became unreachable; 0 while connected
    bool closing_ = false;
    std::vector<std::function<void()>> close_waiters_;
    // Timers run on its context; an attempt that completes after we are gone does nothing.
    Lifeline lifeline_;
};

} // namespace duet::peer

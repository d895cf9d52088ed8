// SPDX-License-Identifier: MIT
// The peer's view of signaling: send protocol messages, hear server messages and outages.
#pragma once

#include "signaling/protocol.h"

#include <functional>
#include <string>

namespace duet::peer {

// Implemented over a WebSocket to duet-server (WsSignaler) and, for tests, in process
// (tests/support/LoopbackSignaler). Every callback runs on the main thread.
class Signaler {
  public:
    class Listener {
      public:
        virtual ~Listener() = default;
        // Connected (first time or again): time to send `join`.
        virtual void on_signaler_open() = 0;
        virtual void on_signaler_message(const proto::ServerMessage &msg) = 0;
        // The connection dropped; the signaler will retry on its own.
        virtual void on_signaler_lost(const std::string &why) = 0;
        // Retry number `attempt` will start in `delay_ms`.
        virtual void on_signaler_retry(unsigned attempt, unsigned delay_ms) = 0;
        // No more retries: gave up on an unreachable server. Exit 1.
        virtual void on_signaler_fatal(const std::string &why) = 0;
        // The server gave our seat to a newer connection holding our resume token (close
        // code 4001). Never reconnect: the two would take the seat from each other forever.
        virtual void on_signaler_replaced(const std::string &why) = 0;
    };

    virtual ~Signaler() = default;
    virtual void start(Listener *listener) = 0;
    // Dropped (with a debug log) while not connected.
    virtual void send(const proto::ClientMessage &msg) = 0;
    // Closes cleanly and stops retrying; `done` runs once closed (bounded wait).
    virtual void close(std::function<void()> done) = 0;
    virtual bool is_open() const = 0;
};

} // namespace duet::peer

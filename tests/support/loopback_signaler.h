// SPDX-License-Identifier: MIT
// In-process signaling for tests: peers meet through the real room registry, no sockets.
#pragma once

#include "common/main_thread.h"
#include "signaling/registry.h"
#include "src/peer/signaler.h"

#include <memory>
#include <unordered_map>

namespace duet::peer {

class LoopbackSignaler;

// Plays duet-server's part with the same Registry; messages are delivered from idle
// callbacks, so ordering and re-entrancy resemble a real socket.
class LoopbackHub {
  public:
    explicit LoopbackHub(signaling::RegistryConfig config = {});
    std::unique_ptr<LoopbackSignaler> make_signaler();

  private:
    friend class LoopbackSignaler;
    signaling::ConnId attach(LoopbackSignaler *s);
    void detach(signaling::ConnId id, bool clean);
    void deliver(signaling::ConnId from, const proto::ClientMessage &msg);
    void apply(signaling::Effects &fx);

    signaling::Registry registry_;
    std::unordered_map<signaling::ConnId, LoopbackSignaler *> conns_;
    signaling::ConnId next_ = 1;
};

class LoopbackSignaler : public Signaler {
  public:
    explicit LoopbackSignaler(LoopbackHub &hub) : hub_(hub) {}
    ~LoopbackSignaler() override;

    void start(Listener *listener) override;
    void send(const proto::ClientMessage &msg) override;
    void close(std::function<void()> done) override;
    bool is_open() const override { return conn_ != 0; }

    // Test hook: the "socket" dies without a leave and comes back (like a network blip).
    void drop_and_reconnect();

  private:
    friend class LoopbackHub;
    void receive(const proto::ServerMessage &msg);
    void evicted();

    LoopbackHub &hub_;
    Listener *listener_ = nullptr;
    signaling::ConnId conn_ = 0;
    // Deliveries go through the main loop, and not to a signaler that is gone.
    Lifeline lifeline_;
};

} // namespace duet::peer

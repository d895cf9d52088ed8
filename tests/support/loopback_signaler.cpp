// SPDX-License-Identifier: MIT
// Loopback hub and signaler: the registry's effects delivered through the main loop.
#include "tests/support/loopback_signaler.h"

#include "common/main_thread.h"

namespace duet::peer {

LoopbackHub::LoopbackHub(signaling::RegistryConfig config) : registry_(std::move(config)) {}

std::unique_ptr<LoopbackSignaler> LoopbackHub::make_signaler() {
    return std::make_unique<LoopbackSignaler>(*this);
}

signaling::ConnId LoopbackHub::attach(LoopbackSignaler *s) {
    signaling::ConnId id = next_++;
    conns_[id] = s;
    return id;
}

void LoopbackHub::detach(signaling::ConnId id, bool clean) {
    signaling::Effects fx;
    if (clean)
        registry_.handle(id, proto::ClientMessage{proto::Leave{}}, signaling::Clock::now(), fx);
    registry_.disconnected(id, signaling::Clock::now(), fx);
    conns_.erase(id);
    apply(fx);
}

void LoopbackHub::deliver(signaling::ConnId from, const proto::ClientMessage &msg) {
    if (!conns_.count(from))
        return;
    signaling::Effects fx;
    registry_.handle(from, msg, signaling::Clock::now(), fx);
    apply(fx);
}

void LoopbackHub::apply(signaling::Effects &fx) {
    for (auto &s : fx.send) {
        auto it = conns_.find(s.to);
        if (it != conns_.end())
            it->second->receive(s.msg);
    }
    for (auto id : fx.close) {
        auto it = conns_.find(id);
        if (it == conns_.end())
            continue;
        LoopbackSignaler *victim = it->second;
        conns_.erase(it);
        victim->evicted();
    }
}

LoopbackSignaler::~LoopbackSignaler() {
    lifeline_.cut();
    if (conn_)
        hub_.detach(conn_, false);
}

void LoopbackSignaler::start(Listener *listener) {
    listener_ = listener;
    conn_ = hub_.attach(this);
    lifeline_.post([this] { listener_->on_signaler_open(); });
}

void LoopbackSignaler::send(const proto::ClientMessage &msg) {
    if (!conn_)
        return;
    signaling::ConnId id = conn_;
    lifeline_.post([this, id, msg] { hub_.deliver(id, msg); });
}

void LoopbackSignaler::receive(const proto::ServerMessage &msg) {
    lifeline_.post([this, msg] { listener_->on_signaler_message(msg); });
}

void LoopbackSignaler::evicted() {
    conn_ = 0;
    lifeline_.post(
        [this] { listener_->on_signaler_replaced("seat taken by a newer connection"); });
}

void LoopbackSignaler::close(std::function<void()> done) {
    if (conn_) {
        signaling::ConnId id = conn_;
        conn_ = 0;
        hub_.detach(id, true);
    }
    lifeline_.post(std::move(done));
}

void LoopbackSignaler::drop_and_reconnect() {
    if (!conn_)
        return;
    signaling::ConnId id = conn_;
    conn_ = 0;
    hub_.detach(id, false);
    listener_->on_signaler_lost("loopback drop");
    lifeline_.post([this] {
        listener_->on_signaler_retry(1, 0);
        conn_ = hub_.attach(this);
        listener_->on_signaler_open();
    });
}

} // namespace duet::peer

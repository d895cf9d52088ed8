// SPDX-License-Identifier: MIT
// Loopback hub and signaller: the registry's effects delivered through the main loop.
#include "tests/support/loopback_signaller.h"

#include "common/main_thread.h"

namespace duet::peer {

LoopbackHub::LoopbackHub(signaling::RegistryConfig config) : registry_(std::move(config)) {}

std::unique_ptr<LoopbackSignaller> LoopbackHub::make_signaller() {
    return std::make_unique<LoopbackSignaller>(*this);
}

signaling::ConnId LoopbackHub::attach(LoopbackSignaller *s) {
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
        LoopbackSignaller *victim = it->second;
        conns_.erase(it);
        victim->evicted();
    }
}

LoopbackSignaller::~LoopbackSignaller() {
    lifeline_.cut();
    if (conn_)
        hub_.detach(conn_, false);
}

void LoopbackSignaller::start(Listener *listener) {
    listener_ = listener;
    conn_ = hub_.attach(this);
    lifeline_.post([this] { listener_->on_signaller_open(); });
}

void LoopbackSignaller::send(const proto::ClientMessage &msg) {
    if (!conn_)
        return;
    signaling::ConnId id = conn_;
    lifeline_.post([this, id, msg] { hub_.deliver(id, msg); });
}

void LoopbackSignaller::receive(const proto::ServerMessage &msg) {
    lifeline_.post([this, msg] { listener_->on_signaller_message(msg); });
}

void LoopbackSignaller::evicted() {
    conn_ = 0;
    lifeline_.post(
        [this] { listener_->on_signaller_replaced("seat taken by a newer connection"); });
}

void LoopbackSignaller::close(std::function<void()> done) {
    if (conn_) {
        signaling::ConnId id = conn_;
        conn_ = 0;
        hub_.detach(id, true);
    }
    lifeline_.post(std::move(done));
}

void LoopbackSignaller::drop_and_reconnect() {
    if (!conn_)
        return;
    signaling::ConnId id = conn_;
    conn_ = 0;
    hub_.detach(id, false);
    listener_->on_signaller_lost("loopback drop");
    lifeline_.post([this] {
        listener_->on_signaller_retry(1, 0);
        conn_ = hub_.attach(this);
        listener_->on_signaller_open();
    });
}

} // namespace duet::peer

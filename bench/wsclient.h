// SPDX-License-Identifier: MIT
// A minimal non-blocking WebSocket client connection for the load generator (epoll-driven).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace duet::bench {

// One client socket. The load generator owns many; each is a few hundred bytes plus its
// buffers, so the client side stays cheap at 10,000 connections.
class WsConn {
  public:
    enum class State { Connecting, Handshaking, Open, Closed };

    // Starts a non-blocking connect to host:port and queues the upgrade request.
    bool start(const std::string &host, int port, const std::string &path);
    int fd() const { return fd_; }
    State state() const { return state_; }

    // Queues one masked text frame.
    void send_text(std::string_view text);
    // Writes what is queued; returns false if the socket failed.
    bool flush();
    bool wants_write() const { return out_off_ < out_.size(); }

    // Reads what is available. Calls on_text(text) per complete text frame.
    template <typename F> bool read(F &&on_text);
    void close();
    int last_errno() const { return last_errno_; }

  private:
    int last_errno_ = 0;

  public:
    unsigned close_code_ = 0;
    std::string close_reason_;

  private:
    bool parse_handshake();
    template <typename F> void parse_frames(F &&on_text);

    int fd_ = -1;
    State state_ = State::Closed;
    std::string out_;
    std::size_t out_off_ = 0;
    std::string in_;
    std::uint32_t mask_seed_ = 0x9e3779b9u;
};

} // namespace duet::bench

#include "wsclient_impl.h"

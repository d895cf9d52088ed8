// SPDX-License-Identifier: MIT
// Inline parts of WsConn: frame parsing, kept in a header so the hot path inlines.
#pragma once

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace duet::bench {

template <typename F> bool WsConn::read(F &&on_text) {
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n > 0) {
            in_.append(buf, std::size_t(n));
            continue;
        }
        if (n == 0) {
            last_errno_ = -1; // orderly EOF
            state_ = State::Closed;
            break;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        if (errno == EINTR)
            continue;
        last_errno_ = errno;
        state_ = State::Closed;
        return false;
    }
    if (state_ == State::Handshaking && !parse_handshake())
        return state_ != State::Closed;
    if (state_ == State::Open)
        parse_frames(on_text);
    return state_ != State::Closed;
}

template <typename F> void WsConn::parse_frames(F &&on_text) {
    std::size_t off = 0;
    for (;;) {
        if (in_.size() - off < 2)
            break;
        auto b0 = static_cast<unsigned char>(in_[off]),
             b1 = static_cast<unsigned char>(in_[off + 1]);
        std::size_t hdr = 2;
        std::uint64_t len = b1 & 0x7f;
        if (len == 126) {
            if (in_.size() - off < 4)
                break;
            len = (std::uint64_t(static_cast<unsigned char>(in_[off + 2])) << 8) |
                  static_cast<unsigned char>(in_[off + 3]);
            hdr = 4;
        } else if (len == 127) {
            if (in_.size() - off < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; ++i)
                len = (len << 8) | static_cast<unsigned char>(in_[off + 2 + std::size_t(i)]);
            hdr = 10;
        }
        if (in_.size() - off < hdr + len)
            break;
        std::string_view payload(in_.data() + off + hdr, std::size_t(len));
        unsigned opcode = b0 & 0x0f;
        if (opcode == 0x1)
            on_text(payload);
        else if (opcode == 0x9) {
            // Answer pings, or the server's dead-peer detection would (rightly) drop us.
            std::string pong;
            pong += char(0x8a);
            pong += char(0x80 | payload.size());
            pong.append(4, '\0');
            pong += payload;
            out_ += pong;
        } else if (opcode == 0x8) {
            last_errno_ = -2; // close frame
            if (payload.size() >= 2)
                close_code_ = (unsigned(static_cast<unsigned char>(payload[0])) << 8) |
                              static_cast<unsigned char>(payload[1]);
            close_reason_ =
                std::string(payload.size() > 2 ? payload.substr(2) : std::string_view{});
            state_ = State::Closed;
        }
        off += hdr + std::size_t(len);
    }
    in_.erase(0, off);
}

} // namespace duet::bench

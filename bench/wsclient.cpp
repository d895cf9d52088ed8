// SPDX-License-Identifier: MIT
// WsConn: non-blocking connect, HTTP upgrade and masked frame output.
#include "wsclient.h"

#include <arpa/inet.h>
#include <cstdio>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace duet::bench {

bool WsConn::start(const std::string &host, int port, const std::string &path) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
        return false;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(std::uint16_t(port));
    inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr *>(&sa), sizeof sa) < 0 && errno != EINPROGRESS) {
        ::close(fd_);
        fd_ = -1;
        return false;
    }
    state_ = State::Handshaking;
    // A fixed key is fine: the server only echoes its hash, and nothing here is secret.
    out_ = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    out_off_ = 0;
    mask_seed_ ^= std::uint32_t(fd_) * 2654435761u;
    return true;
}

bool WsConn::parse_handshake() {
    auto end = in_.find("\r\n\r\n");
    if (end == std::string::npos)
        return false;
    if (in_.compare(0, 12, "HTTP/1.1 101") != 0) {
        std::fprintf(stderr, "duet-loadgen: upgrade refused: %.*s\n", int(in_.find('\r')),
                     in_.c_str());
        state_ = State::Closed;
        return false;
    }
    in_.erase(0, end + 4);
    state_ = State::Open;
    return true;
}

void WsConn::send_text(std::string_view text) {
    out_ += char(0x81);
    std::size_t n = text.size();
    if (n < 126) {
        out_ += char(0x80 | n);
    } else if (n < 65536) {
        out_ += char(0x80 | 126);
        out_ += char(n >> 8);
        out_ += char(n & 0xff);
    } else {
        out_ += char(0x80 | 127);
        for (int i = 7; i >= 0; --i)
            out_ += char((std::uint64_t(n) >> (8 * i)) & 0xff);
    }
    mask_seed_ = mask_seed_ * 1664525u + 1013904223u;
    unsigned char mask[4];
    std::memcpy(mask, &mask_seed_, 4);
    out_.append(reinterpret_cast<char *>(mask), 4);
    std::size_t base = out_.size();
    out_ += text;
    for (std::size_t i = 0; i < n; ++i)
        out_[base + i] = char(out_[base + i] ^ mask[i & 3]);
}

bool WsConn::flush() {
    while (out_off_ < out_.size()) {
        ssize_t n = ::write(fd_, out_.data() + out_off_, out_.size() - out_off_);
        if (n > 0) {
            out_off_ += std::size_t(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        last_errno_ = errno;
        state_ = State::Closed;
        return false;
    }
    if (out_off_ == out_.size()) {
        out_.clear();
        out_off_ = 0;
    }
    return true;
}

void WsConn::close() {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
    state_ = State::Closed;
}

} // namespace duet::bench

// SPDX-License-Identifier: MIT
#include "ws_frame.h"

#include <algorithm>

namespace duet::signaling::ws {

namespace {

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. NUL is a
// valid character here (JSON parsing refuses it later with a protocol error).
bool valid_utf8(const std::string &s) {
    const auto *p = reinterpret_cast<const unsigned char *>(s.data());
    const unsigned char *end = p + s.size();
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int extra;
        std::uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            extra = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (end - p <= extra)
            return false;
        for (int i = 1; i <= extra; ++i) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        p += extra + 1;
    }
    return true;
}

bool is_control(Opcode op) {
    return (static_cast<unsigned>(op) & 0x8) != 0;
}

} // namespace

void append_frame(std::string &out, Opcode op, std::string_view payload) {
    out.push_back(char(0x80 | static_cast<unsigned>(op)));
    std::uint64_t n = payload.size();
    if (n < 126) {
        out.push_back(char(n));
    } else if (n <= 0xFFFF) {
        out.push_back(char(126));
        out.push_back(char(n >> 8));
        out.push_back(char(n & 0xFF));
    } else {
        out.push_back(char(127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(char((n >> shift) & 0xFF));
    }
    out.append(payload);
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
    std::string p;
    p.push_back(char(code >> 8));
    p.push_back(char(code & 0xFF));
    std::size_t n = std::min<std::size_t>(reason.size(), 123);
    // Never cut a multi-byte character in half.
    while (n < reason.size() && n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80)
        --n;
    p.append(reason.substr(0, n));
    return p;
}

void Decoder::fail(std::uint16_t code, std::vector<Event> &out) {
    out.push_back(Event{Event::Kind::Error, false, {}, code});
    if (code == kCloseTooBig) {
        discarding_ = true;
        skip_ = true;
    } else {
        dead_ = true;
    }
    std::string().swap(message_);
    std::string().swap(control_);
}

bool Decoder::parse_header(std::vector<Event> &out) {
    const unsigned char *h = header_;
    fin_ = (h[0] & 0x80) != 0;
    unsigned opcode = h[0] & 0x0F;
    if ((h[0] & 0x70) != 0 || !(opcode <= 2 || (opcode >= 8 && opcode <= 10))) {
        fail(kCloseProtocolError, out); // extension bits we never agreed to, or no such op
        return false;
    }
    op_ = static_cast<Opcode>(opcode);
    std::uint64_t len = h[1] & 0x7F;
    std::size_t pos = 2;
    if (len == 126) {
        len = (std::uint64_t(h[2]) << 8) | h[3];
        pos = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; ++i)
            len = (len << 8) | h[2 + i];
        pos = 10;
        if (len >> 63) {
            fail(kCloseProtocolError, out);
            return false;
        }
    }
    std::copy(h + pos, h + pos + 4, mask_);
    remaining_ = len;
    offset_ = 0;
    if (is_control(op_)) {
        if (!fin_ || len > 125) {
            fail(kCloseProtocolError, out);
            return false;
        }
        control_.clear();
        skip_ = false;
        return true;
    }
    if (op_ == Opcode::Continuation) {
        if (!in_message_) {
            fail(kCloseProtocolError, out);
            return false;
        }
    } else {
        if (in_message_) {
            fail(kCloseProtocolError, out);
            return false;
        }
        in_message_ = true;
        message_text_ = op_ == Opcode::Text;
        message_.clear();
    }
    if (discarding_) {
        skip_ = true;
    } else if (len > max_message_ - message_.size()) {
        fail(kCloseTooBig, out); // and skip this payload and everything after it
    } else {
        skip_ = false;
        message_.reserve(message_.size() + std::size_t(len));
    }
    return true;
}

void Decoder::finish_frame(std::vector<Event> &out) {
    in_payload_ = false;
    header_len_ = 0;
    header_need_ = 2;
    switch (op_) {
    case Opcode::Ping:
        out.push_back(Event{Event::Kind::Ping, false, std::move(control_), 0});
        break;
    case Opcode::Pong:
        out.push_back(Event{Event::Kind::Pong, false, {}, 0});
        break;
    case Opcode::Close: {
        if (control_.size() == 1) {
            fail(kCloseProtocolError, out);
            return;
        }
        std::uint16_t code = 1005; // "no status received"
        if (control_.size() >= 2)
            code = std::uint16_t((static_cast<unsigned char>(control_[0]) << 8) |
                                 static_cast<unsigned char>(control_[1]));
        out.push_back(Event{Event::Kind::Close, false, {}, code});
        break;
    }
    default:
        if (!fin_)
            return; // more fragments to come
        in_message_ = false;
        if (skip_)
            return;
        if (message_text_ && !valid_utf8(message_)) {
            fail(kCloseBadData, out);
            return;
        }
        out.push_back(Event{Event::Kind::Message, message_text_, std::move(message_), 0});
        message_ = std::string();
        break;
    }
    control_.clear();
}

void Decoder::feed(const char *data, std::size_t len, std::vector<Event> &out) {
    const auto *p = reinterpret_cast<const unsigned char *>(data);
    while (len > 0 && !dead_) {
        if (!in_payload_) {
            std::size_t n = std::min(len, header_need_ - header_len_);
            std::copy(p, p + n, header_ + header_len_);
            header_len_ += n;
            p += n;
            len -= n;
            if (header_len_ == 2) {
                if ((header_[1] & 0x80) == 0) {
                    fail(kCloseProtocolError, out); // clients must mask every frame
                    return;
                }
                unsigned l7 = header_[1] & 0x7F;
                header_need_ = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + 4;
            }
            if (header_len_ < header_need_)
                continue;
            if (!parse_header(out))
                return;
            in_payload_ = true;
            if (remaining_ == 0)
                finish_frame(out);
            continue;
        }
        std::size_t n = std::size_t(std::min<std::uint64_t>(len, remaining_));
        if (!skip_) {
            std::string &to = is_control(op_) ? control_ : message_;
            std::size_t at = to.size();
            to.resize(at + n);
            for (std::size_t i = 0; i < n; ++i)
                to[at + i] = char(p[i] ^ mask_[(offset_ + i) & 3]);
        }
        offset_ += n;
        remaining_ -= n;
        p += n;
        len -= n;
        if (remaining_ == 0)
            finish_frame(out);
    }
}

} // namespace duet::signaling::ws

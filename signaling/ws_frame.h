// SPDX-License-Identifier: MIT
// RFC 6455 framing for the server side: an incremental decoder of client frames and an
// encoder of server frames. Pure logic with no I/O, so it is unit-tested and fuzzed alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace duet::signaling::ws {

enum class Opcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

// Close codes this server sends (RFC 6455 section 7.4.1).
inline constexpr std::uint16_t kCloseNormal = 1000;
inline constexpr std::uint16_t kCloseProtocolError = 1002;
inline constexpr std::uint16_t kCloseBadData = 1007; // text that is not UTF-8
inline constexpr std::uint16_t kClosePolicy = 1008;
inline constexpr std::uint16_t kCloseTooBig = 1009;

// Appends one unmasked, unfragmented server frame.
void append_frame(std::string &out, Opcode op, std::string_view payload);
// A close frame's payload: the code in network order, then a UTF-8 reason cut to fit the
// 125-byte limit of control frames (at a character boundary).
std::string close_payload(std::uint16_t code, std::string_view reason);

// What the decoder found in the bytes fed to it, in order.
struct Event {
    enum class Kind {
        Message, // a whole data message; `text` tells Text from Binary
        Ping,    // answer with a Pong carrying `data`
        Pong,
        Close, // the peer's close frame; `code` is 1005 when it carried none
        Error, // the stream broke the protocol: close with `code`
    } kind;
    bool text = false;
    std::string data;
    std::uint16_t code = 0;
};

// Client-to-server frames: masked, no extensions (no RSV bits), control frames short and
// whole, data messages at most `max_message` bytes once reassembled.
//
// After an Error the decoder stops reporting messages. For a too-big message (1009) it
// keeps parsing frame headers, skipping payloads, so the peer's Close is still seen and
// the closing handshake completes instead of the connection being reset with the peer's
// bytes unread. After a framing error (1002, 1007) the rest of the stream is garbage and
// is ignored.
class Decoder {
  public:
    explicit Decoder(std::size_t max_message) : max_message_(max_message) {}

    void feed(const char *data, std::size_t len, std::vector<Event> &out);
    // From now on data messages are skipped (we sent a Close and are waiting for theirs).
    void discard_data() { discarding_ = true; }

  private:
    void fail(std::uint16_t code, std::vector<Event> &out);
    bool parse_header(std::vector<Event> &out); // header_ is complete; false on error
    void finish_frame(std::vector<Event> &out);

    std::size_t max_message_;
    bool discarding_ = false;
    bool dead_ = false; // framing error: ignore everything

    // The frame being read.
    unsigned char header_[14] = {};
    std::size_t header_len_ = 0;
    std::size_t header_need_ = 2;
    bool in_payload_ = false;
    bool fin_ = false;
    Opcode op_ = Opcode::Continuation;
    unsigned char mask_[4] = {};
    std::uint64_t remaining_ = 0; // payload bytes still to come
    std::uint64_t offset_ = 0;    // payload bytes seen (for the mask)
    bool skip_ = false;           // payload not kept

    // A data message being reassembled across frames.
    bool in_message_ = false;
    bool message_text_ = false;
    std::string message_;
    std::string control_; // a control frame's payload
};

} // namespace duet::signaling::ws

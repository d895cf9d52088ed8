// SPDX-License-Identifier: MIT
// The --control bridge's pure parts (no sockets): what a line from the local program means,
// the line a browser's message becomes, and cutting a byte stream into bounded lines.
#pragma once

#include "src/peer/commands.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace duet::peer {

// docs/KIOSK.md "Control channel": a line either way is at most 16 KiB (UTF-8 bytes, without
// its newline); a socket client may hold at most 16, each reading what it is sent before
// 1 MiB piles up.
inline constexpr std::size_t kMaxControlLineBytes = 16 * 1024;
inline constexpr std::size_t kMaxControlClients = 16;
inline constexpr std::size_t kMaxControlBacklogBytes = 1024 * 1024;

// What a line from the local program is.
struct ControlLine {
    enum class Kind {
        Blank,       // nothing but white space: skipped
        Command,     // `command` for duet-peer (chat, admit, decline)
        PassThrough, // `text`, sent verbatim on every open duet-control channel
        Invalid,     // `text` says why it is dropped (too long, not UTF-8, a bad command)
    };
    Kind kind = Kind::Blank;
    Command command;
    std::string text;
};
// `line` is without its newline (a trailing CR is dropped too).
ControlLine classify_control_line(std::string_view line);

// What the local program reads for a browser's message `data` from `from` (called `name`,
// "" without one): {"from":"...","name":"...","data":"..."} and a newline.
std::string control_message_line(const std::string &from, const std::string &name,
                                 const std::string &data);

// Cuts bytes into lines of at most `max` bytes (without the newline). A longer line is
// skipped up to its newline and counted in `dropped`.
class LineSplitter {
  public:
    explicit LineSplitter(std::size_t max = kMaxControlLineBytes) : max_(max) {}
    // Appends whole lines found in `data` to `lines`.
    void feed(std::string_view data, std::vector<std::string> &lines);
    // Lines dropped for their length so far.
    std::size_t dropped() const { return dropped_; }

  private:
    std::size_t max_;
    std::string partial_;
    bool skipping_ = false; // inside a line already over `max`
    std::size_t dropped_ = 0;
};

} // namespace duet::peer

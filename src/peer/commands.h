// SPDX-License-Identifier: MIT
// duet-peer's commands: standard input with --admit ask (words `admit ID`, `decline ID`,
// `chat TEXT`, or JSON), and the JSON lines a --control program writes
// (`{"admit":"ID"}`, `{"decline":"ID"}`, `{"chat":"text"}`).
#pragma once

#include "common/result.h"
#include "signaling/protocol.h"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace duet::peer {

// Send this text to everyone on the chat channel.
struct SendChat {
    std::string text; // trimmed, 1..kMaxChatChars code points
};
// A message to the server (admit, decline), or chat.
using Command = std::variant<proto::ClientMessage, SendChat>;

// The command a line asks for, or why the line is not a command.
Result<Command> parse_command(std::string_view line);

// For JSON lines: nullopt when `line` is not a JSON object with a `chat`, `admit` or
// `decline` member (a --control program's line for the browser); else the command, or why
// it is a bad one (a wrong value, or more than one of them).
std::optional<Result<Command>> parse_json_command(std::string_view line);

} // namespace duet::peer

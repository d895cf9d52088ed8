// SPDX-License-Identifier: MIT
// duet-peer's control input (standard input with --admit ask): one command per line, as
// words (`admit ID`, `decline ID`) or as JSON (`{"admit":"ID"}`, `{"decline":"ID"}`).
#pragma once

#include "common/result.h"
#include "signaling/protocol.h"

#include <string_view>

namespace duet::peer {

// The message to the server a line asks for, or why the line is not a command.
Result<proto::ClientMessage> parse_command(std::string_view line);

} // namespace duet::peer

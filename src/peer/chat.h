// SPDX-License-Identifier: MIT
// Text chat on the `duet-chat` data channel (docs/PROTOCOL.md): the message each side sends,
// {"type":"chat","text":"...","ts":<ms since epoch>}, and the checks on what arrives.
#pragma once

#include "common/result.h"

#include <glib.h>

#include <string>
#include <string_view>

namespace duet::peer {

// A chat text is 1..kMaxChatChars code points once trimmed of white space.
inline constexpr std::size_t kMaxChatChars = 2000;

// The text as it is sent (trimmed), or why it cannot be: not UTF-8, empty, too long.
Result<std::string> normalize_chat_text(std::string_view raw);

// The message for the channel, with `ts_ms` (ms since the epoch, our clock).
std::string chat_message_json(const std::string &text, gint64 ts_ms);

// The trimmed text of a message from the channel, or why it is dropped: not JSON, not an
// object, `type` not "chat", `text` missing, not a string, empty or too long, `ts` present
// but not a number. Other members are ignored (a later version may add some).
Result<std::string> parse_chat_message(std::string_view json);

} // namespace duet::peer

// SPDX-License-Identifier: MIT
// A strict one-pass JSON checker that finds a message's top-level members without building
// a tree, so a relayed `data` object can be passed on as the bytes that arrived.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace duet::proto::json {

// Deeper documents are refused: real messages nest 3. (json-glib's parser recurses, so the
// same limit also guards its stack on the paths that still use it.)
inline constexpr int kMaxDepth = 32;

// Why a text is not accepted. Each is a fault in the text itself, found at Problem::at.
enum class Fault {
    None,
    Utf8,           // bytes that are not UTF-8
    ControlChar,    // a raw character below U+0020 inside a string
    BadEscape,      // a backslash escape JSON does not have
    ShortUnicode,   // "\u" without four hex digits
    Nul,            // "\u0000": cut short by every C string it meets
    LoneLow,        // a UTF-16 low surrogate without the high half before it
    LoneHigh,       // a UTF-16 high surrogate without the low half after it
    Unterminated,   // the text ends inside a string
    TooDeep,        // nests deeper than kMaxDepth
    Number,         // not JSON's number grammar (leading zero, "1.", ".5", "0x1")
    NumberTooLarge, // beyond a double's range: it would arrive as Infinity, or not at all
    Syntax,         // any other byte where JSON allows none (comments, single quotes, ...)
    End,            // the text ends before the object does
    Trailing,       // more after the object
    NotObject,      // the text is not an object (empty, a number, an array, ...)
};

struct Problem {
    Fault fault = Fault::None;
    std::size_t at = 0; // byte offset of the fault
    explicit operator bool() const { return fault != Fault::None; }
    // "message is not JSON: ...", for an `error` message.
    std::string message() const;
};

// A top-level member to look for: its name, and after scan_object its value as it
// arrived (empty when absent). Of duplicate names the last one counts, as in json-glib.
struct Member {
    std::string_view name;
    std::string_view raw; // the value's bytes, quotes included for a string
    // The value's first byte: '"' string, '{' object, '[' array, 't'/'f'/'n' literals,
    // '-' or a digit for a number; 0 when absent.
    char kind() const { return raw.empty() ? 0 : raw.front(); }
};

// Checks that `text` is one JSON object as RFC 8259 has it (plus the rules below) and
// fills in the members asked for. Strings: JSON's escapes only, "\u" with four hex digits,
// UTF-16 surrogates only in pairs, no NUL, no raw control characters, valid UTF-8 (no
// overlong forms, surrogates or code points past U+10FFFF). Numbers: JSON's grammar and
// finite as a double. White space: space, tab, CR, LF. Depth: kMaxDepth.
Problem scan_object(std::string_view text, Member *members, std::size_t count);
template <std::size_t N> Problem scan_object(std::string_view text, Member (&members)[N]) {
    return scan_object(text, members, N);
}

// The text of a string value (`raw` with its quotes, as scan_object found it), unescaped.
std::string decode_string(std::string_view raw);
// True when string value `raw` (quotes included) says `s`.
bool string_equals(std::string_view raw, std::string_view s);

} // namespace duet::proto::json

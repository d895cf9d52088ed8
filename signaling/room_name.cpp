// SPDX-License-Identifier: MIT
// Room-name rules: NFC identity, trimming, and refusing names that are blank or deceive.
#include "protocol.h"

#include "common/ref.h"

#include <glib.h>

#include <cstring>
#include <iterator>
#include <memory>

namespace duet::proto {
namespace {

struct Range {
    gunichar first, last;
};

// Default_Ignorable_Code_Point (Unicode 15, DerivedCoreProperties.txt): characters a
// renderer draws as nothing. Most are general category Cf and are also caught by type, but
// the variation selectors, the combining grapheme joiner, the Hangul fillers, two Khmer
// vowels and the Mongolian free variation selectors are not, and unassigned code points in
// these blocks are reserved as ignorable. Kept in step with \p{DI} in web/protocol.js.
constexpr Range kDefaultIgnorable[] = {
    {0x00AD, 0x00AD},   {0x034F, 0x034F},   {0x061C, 0x061C}, {0x115F, 0x1160}, {0x17B4, 0x17B5},
    {0x180B, 0x180F},   {0x200B, 0x200F},   {0x202A, 0x202E}, {0x2060, 0x206F}, {0x3164, 0x3164},
    {0xFE00, 0xFE0F},   {0xFEFF, 0xFEFF},   {0xFFA0, 0xFFA0}, {0xFFF0, 0xFFF8}, {0x1BCA0, 0x1BCA3},
    {0x1D173, 0x1D17A}, {0xE0000, 0xE0FFF},
};

// U+2800 BRAILLE PATTERN BLANK is a symbol, not ignorable, yet it draws as an empty cell and
// is the usual way to make a "blank" name where invisible characters are filtered.
constexpr gunichar kBrailleBlank = 0x2800;

bool in(const Range *begin, const Range *end, gunichar c) {
    for (const Range *r = begin; r != end; ++r)
        if (c >= r->first && c <= r->last)
            return true;
    return false;
}

// Nothing a reader can see: white space, format characters (zero-width space and joiners,
// word joiner, BOM, soft hyphen, bidi marks, tags, ...), other ignorables, a blank cell.
// A name may hold these (a ZWJ inside an emoji sequence, a variation selector after a
// heart, a tag sequence in a flag), but not only these.
bool invisible(gunichar c) {
    GUnicodeType t = g_unichar_type(c);
    return t == G_UNICODE_FORMAT || t == G_UNICODE_SPACE_SEPARATOR || c == kBrailleBlank ||
           in(std::begin(kDefaultIgnorable), std::end(kDefaultIgnorable), c);
}

// Explicit bidi formatting: embeddings and overrides (U+202A..U+202E) and isolates
// (U+2066..U+2069). Inside a name they reverse or reorder what follows wherever the name is
// shown as plain text (a terminal, a log, a window title) and can make one name read as
// another. Isolates are refused too: they only work in matched pairs, an unmatched one
// leaks onto the text after the name, and the page isolates every name itself. The marks
// U+200E/U+200F/U+061C have no scope and stay allowed (but are invisible).
bool bidi_control(gunichar c) {
    return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

const char *trim_start(const char *begin, const char *end) {
    while (begin < end && g_unichar_isspace(g_utf8_get_char(begin)))
        begin = g_utf8_next_char(begin);
    return begin;
}

const char *trim_end(const char *begin, const char *end) {
    while (end > begin) {
        const char *prev = g_utf8_find_prev_char(begin, end);
        if (!prev || !g_unichar_isspace(g_utf8_get_char(prev)))
            break;
        end = prev;
    }
    return end;
}

} // namespace

Result<std::string> normalize_room(std::string_view raw) {
    if (!g_utf8_validate_len(raw.data(), raw.size(), nullptr))
        return fail("room name is not valid UTF-8");
    if (raw.find('\0') != std::string_view::npos)
        return fail("room name must not contain control characters");
    // NFC first, so "café" typed as e + U+0301 and as U+00E9 is one room, and the length
    // limit counts what people see rather than how their keyboard spelled it.
    Owned<gchar> nfc(g_utf8_normalize(raw.data(), gssize(raw.size()), G_NORMALIZE_NFC));
    if (!nfc)
        return fail("room name is not valid UTF-8");
    const char *all_end = nfc.get() + std::strlen(nfc.get());
    const char *begin = trim_start(nfc.get(), all_end);
    const char *end = trim_end(begin, all_end);
    if (begin == end)
        return fail("room name is empty");
    std::size_t chars = 0;
    bool visible = false;
    for (const char *p = begin; p < end; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        GUnicodeType t = g_unichar_type(c);
        if (t == G_UNICODE_CONTROL || t == G_UNICODE_LINE_SEPARATOR ||
            t == G_UNICODE_PARAGRAPH_SEPARATOR)
            return fail("room name must not contain control characters");
        if (bidi_control(c)) {
            char code[16];
            g_snprintf(code, sizeof code, "U+%04X", c);
            return fail(std::string("room name must not contain text-direction controls such as ") +
                        code +
                        " (bidi embedding, override or isolate), which make it read as "
                        "something else");
        }
        visible = visible || !invisible(c);
        ++chars;
    }
    if (!visible)
        return fail("room name has no visible characters (only invisible ones such as zero-width "
                    "spaces)");
    if (chars > kMaxRoomChars)
        return fail("room name is longer than 64 characters");
    return std::string(begin, end);
}

} // namespace duet::proto

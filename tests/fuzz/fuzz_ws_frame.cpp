// SPDX-License-Identifier: MIT
// libFuzzer target: the server's WebSocket frame decoder takes any client bytes. It must
// never crash, must give the same events however the bytes are split into reads, must
// only deliver whole messages within the size limit (text ones valid UTF-8), and must
// deliver no message after reporting a protocol error.
#include "signaling/ws_frame.h"

#include <glib.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace duet::signaling::ws;

namespace {

void check(bool ok) {
    if (!ok)
        std::abort();
}

// Small, so inputs of a few hundred bytes reach the too-big path.
constexpr std::size_t kMaxMessage = 200;

bool same(const std::vector<Event> &a, const std::vector<Event> &b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].kind != b[i].kind || a[i].text != b[i].text || a[i].data != b[i].data ||
            a[i].code != b[i].code)
            return false;
    return true;
}

// U+0000 is valid UTF-8 (and allowed in a text frame), but g_utf8_validate refuses NUL
// bytes, so they are swapped for another one-byte character first.
bool valid_utf8(std::string text) {
    for (char &c : text)
        if (c == '\0')
            c = ' ';
    return g_utf8_validate(text.data(), gssize(text.size()), nullptr);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    if (size == 0)
        return 0;
    // The first byte picks the read sizes for the split run; the rest is the stream.
    unsigned step = data[0] % 17 + 1;
    const char *bytes = reinterpret_cast<const char *>(data + 1);
    std::size_t len = size - 1;

    Decoder whole(kMaxMessage);
    std::vector<Event> all;
    whole.feed(bytes, len, all);

    Decoder split(kMaxMessage);
    std::vector<Event> parts;
    for (std::size_t at = 0; at < len; at += step)
        split.feed(bytes + at, std::min<std::size_t>(step, len - at), parts);
    check(same(all, parts));

    bool failed = false;
    for (const Event &e : all) {
        switch (e.kind) {
        case Event::Kind::Message:
            check(!failed);
            check(e.data.size() <= kMaxMessage);
            if (e.text)
                check(valid_utf8(e.data));
            break;
        case Event::Kind::Ping:
            check(e.data.size() <= 125); // control frames are short
            break;
        case Event::Kind::Error:
            check(e.code == kCloseProtocolError || e.code == kCloseBadData ||
                  e.code == kCloseTooBig || e.code == kClosePolicy);
            failed = true;
            break;
        case Event::Kind::Pong:
        case Event::Kind::Close:
            break;
        }
    }
    return 0;
}

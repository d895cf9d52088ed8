// SPDX-License-Identifier: MIT
// Builds WebSocket frames as a client sends them, including ones no real client would
// (unmasked, reserved bits set), for the framing tests.
#pragma once

#include <cstdint>
#include <string>

namespace duet::testing {

inline std::string client_frame(unsigned op, const std::string &payload, bool fin = true,
                                bool masked = true, unsigned rsv = 0) {
    std::string f;
    f.push_back(char((fin ? 0x80 : 0) | rsv | op));
    std::uint64_t n = payload.size();
    unsigned m = masked ? 0x80 : 0;
    if (n < 126) {
        f.push_back(char(m | n));
    } else if (n <= 0xFFFF) {
        f.push_back(char(m | 126));
        f.push_back(char(n >> 8));
        f.push_back(char(n & 0xFF));
    } else {
        f.push_back(char(m | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            f.push_back(char((n >> shift) & 0xFF));
    }
    const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (masked)
        f.append(reinterpret_cast<const char *>(key), 4);
    for (std::uint64_t i = 0; i < n; ++i)
        f.push_back(masked ? char(payload[i] ^ key[i & 3]) : payload[i]);
    return f;
}

} // namespace duet::testing

// SPDX-License-Identifier: MIT
// Line-based SDP and candidate parsing; tolerant of CRLF/LF and never trusts the input.
#include "pipelines/sdp_util.h"

#include <glib.h>

#include <sstream>

namespace duet::pipelines {
namespace {

std::vector<std::string> lines_of(const std::string &text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        out.push_back(line);
    }
    return out;
}

std::optional<unsigned> parse_pt(const std::string &s) {
    if (s.empty() || s.size() > 3)
        return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + unsigned(c - '0');
    }
    // Dynamic RTP payload types are 96..127 (RFC 3551).
    if (v < 96 || v > 127)
        return std::nullopt;
    return v;
}

} // namespace

PayloadTypes find_payload_types(const std::string &sdp) {
    PayloadTypes out;
    const std::string prefix = "a=rtpmap:";
    for (const auto &line : lines_of(sdp)) {
        if (line.compare(0, prefix.size(), prefix) != 0)
            continue;
        std::size_t space = line.find(' ', prefix.size());
        if (space == std::string::npos)
            continue;
        auto pt = parse_pt(line.substr(prefix.size(), space - prefix.size()));
        if (!pt)
            continue;
        std::string codec = line.substr(space + 1);
        gchar *lower = g_ascii_strdown(codec.c_str(), -1);
        std::string c(lower);
        g_free(lower);
        // The first matching line wins: it is the offerer's preferred entry.
        if (!out.vp8 && c.rfind("vp8/90000", 0) == 0)
            out.vp8 = pt;
        else if (!out.opus && c.rfind("opus/48000", 0) == 0)
            out.opus = pt;
    }
    return out;
}

std::vector<std::string> media_mids(const std::string &sdp) {
    std::vector<std::string> out;
    for (const auto &line : lines_of(sdp)) {
        if (line.rfind("m=", 0) == 0)
            out.emplace_back();
        else if (line.rfind("a=mid:", 0) == 0 && !out.empty())
            out.back() = line.substr(6);
    }
    return out;
}

std::string candidate_address(const std::string &candidate) {
    // candidate:<foundation> <component> <transport> <priority> <address> <port> typ ...
    std::istringstream in(candidate);
    std::string field;
    for (int i = 0; i < 5; ++i)
        if (!(in >> field))
            return {};
    return field;
}

bool is_mdns_candidate(const std::string &candidate) {
    std::string addr = candidate_address(candidate);
    return addr.size() > 6 && g_str_has_suffix(addr.c_str(), ".local");
}

} // namespace duet::pipelines

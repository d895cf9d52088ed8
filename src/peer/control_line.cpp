// SPDX-License-Identifier: MIT
#include "src/peer/control_line.h"

#include "signaling/protocol.h"

#include <glib.h>

namespace duet::peer {

ControlLine classify_control_line(std::string_view line) {
    ControlLine out;
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos)
        return out;
    if (line.size() > kMaxControlLineBytes) {
        out.kind = ControlLine::Kind::Invalid;
        out.text = "a line of " + std::to_string(line.size()) + " bytes (more than " +
                   std::to_string(kMaxControlLineBytes) + ")";
        return out;
    }
    if (!g_utf8_validate(line.data(), gssize(line.size()), nullptr) ||
        line.find('\0') != std::string_view::npos) {
        out.kind = ControlLine::Kind::Invalid;
        out.text = "a line that is not UTF-8 text";
        return out;
    }
    if (auto cmd = parse_json_command(line)) {
        if (*cmd) {
            out.kind = ControlLine::Kind::Command;
            out.command = std::move(*cmd).value();
        } else {
            out.kind = ControlLine::Kind::Invalid;
            out.text = "a bad command: " + cmd->message();
        }
        return out;
    }
    out.kind = ControlLine::Kind::PassThrough;
    out.text = std::string(line);
    return out;
}

std::string control_message_line(const std::string &from, const std::string &name,
                                 const std::string &data) {
    std::string out = "{\"from\":";
    proto::append_json_string(out, from);
    out += ",\"name\":";
    proto::append_json_string(out, name);
    out += ",\"data\":";
    proto::append_json_string(out, data);
    out += "}\n";
    return out;
}

void LineSplitter::feed(std::string_view data, std::vector<std::string> &lines) {
    while (!data.empty()) {
        std::size_t nl = data.find('\n');
        std::string_view piece = data.substr(0, nl);
        if (!skipping_) {
            if (partial_.size() + piece.size() > max_) {
                skipping_ = true;
                partial_.clear();
            } else {
                partial_.append(piece);
            }
        }
        if (nl == std::string_view::npos)
            return;
        if (skipping_)
            ++dropped_;
        else
            lines.push_back(std::move(partial_));
        partial_.clear();
        skipping_ = false;
        data.remove_prefix(nl + 1);
    }
}

} // namespace duet::peer

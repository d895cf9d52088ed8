// SPDX-License-Identifier: MIT
#include "src/peer/commands.h"

#include "src/peer/chat.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <string>

namespace duet::peer {
namespace {

constexpr std::size_t kMaxIdChars = 64;

Result<Command> answer(const std::string &verb, std::string id) {
    if (id.empty() || id.size() > kMaxIdChars)
        return fail("'" + verb + "' needs the id of an admit-request event");
    for (char c : id)
        if (!g_ascii_isalnum(c) && c != '-' && c != '_')
            return fail("'" + id + "' is not an admit-request id");
    if (verb == "admit")
        return Command{proto::ClientMessage{proto::Admit{std::move(id)}}};
    return Command{proto::ClientMessage{proto::Decline{std::move(id)}}};
}

Result<Command> chat(std::string_view text) {
    auto t = normalize_chat_text(text);
    if (!t)
        return fail("chat: " + t.message());
    return Command{SendChat{std::move(t).value()}};
}

} // namespace

std::optional<Result<Command>> parse_json_command(std::string_view line) {
    JsonParser *parser = json_parser_new();
    std::optional<Result<Command>> out;
    if (json_parser_load_from_data(parser, line.data(), gssize(line.size()), nullptr)) {
        JsonNode *root = json_parser_get_root(parser);
        JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : nullptr;
        int verbs = 0;
        for (const char *verb : {"admit", "decline", "chat"}) {
            JsonNode *n = o ? json_object_get_member(o, verb) : nullptr;
            if (!n)
                continue;
            ++verbs;
            bool is_string =
                JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING;
            if (!is_string)
                out = Result<Command>(fail(std::string("'") + verb + "' must be a string"));
            else if (std::string_view(verb) == "chat")
                out = chat(json_node_get_string(n));
            else
                out = answer(verb, json_node_get_string(n));
        }
        if (verbs > 1)
            out = Result<Command>(fail("one command per line: chat, admit or decline"));
    }
    g_object_unref(parser);
    return out;
}

Result<Command> parse_command(std::string_view line) {
    std::string text(line);
    text = g_strstrip(text.data());
    if (text.empty())
        return fail("empty line");
    if (text.front() == '{') {
        if (auto cmd = parse_json_command(text))
            return std::move(*cmd);
        return fail("not a command: expected {\"admit\":\"ID\"}, {\"decline\":\"ID\"} or "
                    "{\"chat\":\"text\"}");
    }
    std::size_t space = text.find_first_of(" \t");
    std::string verb = text.substr(0, space);
    std::string rest = space == std::string::npos ? "" : text.substr(space + 1);
    if (verb == "chat")
        return chat(rest);
    rest = g_strstrip(rest.data());
    if (verb == "admit" || verb == "decline")
        return answer(verb, rest);
    return fail("unknown command '" + verb + "': use 'admit ID', 'decline ID' or 'chat TEXT'");
}

} // namespace duet::peer

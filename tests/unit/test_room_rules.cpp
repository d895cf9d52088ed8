// SPDX-License-Identifier: MIT
// Runs tests/room-rules/cases.json (the room rules, written once as data) against duet-peer's
// RoomLogic. The browser client runs the same file in tests/room-rules/room_rules.test.mjs.
#include "src/peer/exit_codes.h"
#include "src/peer/room_logic.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include "tests/check_str.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace duet;
using namespace duet::peer;

namespace {

// The legs duet-peer holds, in the order they were made, by the cases' state names.
class FakeLegs : public LegView {
  public:
    std::vector<std::pair<std::string, LegStatus>> legs;

    LegStatus status(const std::string &p) const override {
        auto it = find(p);
        return it == legs.end() ? LegStatus::None : it->second;
    }
    std::vector<std::string> peers() const override {
        std::vector<std::string> out;
        for (const auto &[p, s] : legs)
            out.push_back(p);
        return out;
    }
    void set(const std::string &p, LegStatus s) {
        auto it = find(p);
        if (it == legs.end())
            legs.emplace_back(p, s);
        else
            it->second = s;
    }
    void remove(const std::string &p) {
        auto it = find(p);
        if (it != legs.end())
            legs.erase(it);
    }

  private:
    std::vector<std::pair<std::string, LegStatus>>::const_iterator
    find(const std::string &p) const {
        return std::find_if(legs.begin(), legs.end(), [&](const auto &l) { return l.first == p; });
    }
    std::vector<std::pair<std::string, LegStatus>>::iterator find(const std::string &p) {
        return std::find_if(legs.begin(), legs.end(), [&](const auto &l) { return l.first == p; });
    }
};

LegStatus status_from_name(const std::string &name) {
    if (name == "negotiating")
        return LegStatus::Negotiating;
    if (name == "connected")
        return LegStatus::Connected;
    if (name == "failed")
        return LegStatus::Broken;
    g_error("unknown connection state '%s' in the cases", name.c_str());
}

const char *status_name(LegStatus s) {
    switch (s) {
    case LegStatus::Negotiating:
        return "negotiating";
    case LegStatus::Connected:
        return "connected";
    case LegStatus::Broken:
        return "failed";
    case LegStatus::None:
        break;
    }
    return "none";
}

// The cases' spelling of an action: `kind peer-or-code`, or empty for actions the cases do
// not speak of (events for the CLI's --events output).
std::pair<std::string, std::string> spell(const Action &a) {
    if (auto *o = std::get_if<action::Offer>(&a))
        return {"offer", o->peer};
    if (auto *c = std::get_if<action::Close>(&a))
        return {"close", c->peer};
    if (auto *an = std::get_if<action::Answer>(&a))
        return {"answer", an->peer};
    if (auto *ap = std::get_if<action::ApplyAnswer>(&a))
        return {"apply-answer", ap->peer};
    if (auto *ac = std::get_if<action::AddCandidate>(&a))
        return {"add-candidate", ac->peer};
    if (auto *x = std::get_if<action::Exit>(&a)) {
        // duet-peer gives up by exiting, naming the server's refusal.
        if (!x->refused.empty())
            return {"give-up", x->refused};
        return {"exit", std::to_string(x->code)};
    }
    return {};
}

// README.md: within one step, a close followed by an offer to the same peer is that offer.
std::vector<std::pair<std::string, std::string>>
normalise(std::vector<std::pair<std::string, std::string>> actions) {
    std::vector<std::pair<std::string, std::string>> out;
    for (std::size_t i = 0; i < actions.size(); ++i) {
        const auto &[kind, arg] = actions[i];
        bool replaced = kind == "close" &&
                        std::any_of(actions.begin() + i + 1, actions.end(), [&](const auto &l) {
                            return l.first == "offer" && l.second == arg;
                        });
        if (!replaced)
            out.push_back(actions[i]);
    }
    return out;
}

std::string lines(const std::vector<std::pair<std::string, std::string>> &actions) {
    std::string s;
    for (const auto &[kind, arg] : actions)
        s += kind + " " + arg + "\n";
    return s;
}

std::string expected_actions(JsonArray *out) {
    std::vector<std::pair<std::string, std::string>> v;
    for (guint i = 0; i < json_array_get_length(out); ++i) {
        JsonObject *a = json_array_get_object_element(out, i);
        GList *names = json_object_get_members(a);
        g_assert_cmpuint(g_list_length(names), ==, 1);
        const char *kind = static_cast<const char *>(names->data);
        v.emplace_back(kind, json_object_get_string_member(a, kind));
        g_list_free(names);
    }
    return lines(v);
}

std::string legs_text(const FakeLegs &legs) {
    std::vector<std::string> v;
    for (const auto &[p, s] : legs.legs)
        v.push_back(p + " " + status_name(s) + "\n");
    std::sort(v.begin(), v.end());
    std::string s;
    for (const auto &l : v)
        s += l;
    return s;
}

std::string expected_legs(JsonObject *conns) {
    FakeLegs want;
    GList *names = json_object_get_members(conns);
    for (GList *n = names; n; n = n->next) {
        const char *p = static_cast<const char *>(n->data);
        want.set(p, status_from_name(json_object_get_string_member(conns, p)));
    }
    g_list_free(names);
    return legs_text(want);
}

// The message as the server would send it: the file's defaults for its type, then its own
// fields, through duet-peer's own parser.
proto::ServerMessage server_message(JsonObject *defaults, JsonObject *in) {
    const char *type = json_object_get_string_member(in, "type");
    g_autoptr(JsonObject) merged = json_object_new();
    JsonObject *base = json_object_has_member(defaults, type)
                           ? json_object_get_object_member(defaults, type)
                           : nullptr;
    for (JsonObject *src : {base, in}) {
        if (!src)
            continue;
        GList *names = json_object_get_members(src);
        for (GList *n = names; n; n = n->next) {
            const char *name = static_cast<const char *>(n->data);
            json_object_set_member(merged, name, json_node_copy(json_object_get_member(src, name)));
        }
        g_list_free(names);
    }
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(node, merged);
    g_autofree char *text = json_to_string(node, FALSE);
    auto parsed = proto::parse_server(text);
    if (auto *err = std::get_if<proto::ParseError>(&parsed))
        g_error("duet-peer's parser refused %s: %s", text, err->message.c_str());
    return std::get<proto::ServerMessage>(parsed);
}

struct Case {
    std::shared_ptr<JsonParser> file; // keeps `c` and `defaults` alive
    JsonObject *defaults;
    JsonObject *c;
};

void run_case(gconstpointer data) {
    const auto *tc = static_cast<const Case *>(data);
    const char *name = json_object_get_string_member(tc->c, "name");
    RoomLogic logic("kitchen");
    FakeLegs legs;
    if (json_object_has_member(tc->c, "connections")) {
        JsonObject *conns = json_object_get_object_member(tc->c, "connections");
        GList *names = json_object_get_members(conns);
        for (GList *n = names; n; n = n->next) {
            const char *p = static_cast<const char *>(n->data);
            legs.set(p, status_from_name(json_object_get_string_member(conns, p)));
        }
        g_list_free(names);
    }
    JsonArray *steps = json_object_get_array_member(tc->c, "steps");
    for (guint i = 0; i < json_array_get_length(steps); ++i) {
        JsonObject *step = json_array_get_object_element(steps, i);
        g_test_message("%s, step %u", name, i + 1);
        if (json_object_has_member(step, "state")) {
            JsonObject *st = json_object_get_object_member(step, "state");
            GList *names = json_object_get_members(st);
            for (GList *n = names; n; n = n->next) {
                const char *p = static_cast<const char *>(n->data);
                legs.set(p, status_from_name(json_object_get_string_member(st, p)));
            }
            g_list_free(names);
        } else {
            auto msg = server_message(tc->defaults, json_object_get_object_member(step, "in"));
            std::vector<std::pair<std::string, std::string>> got;
            for (const auto &a : logic.on_message(msg, legs)) {
                auto spelled = spell(a);
                if (spelled.first.empty())
                    continue;
                // What peer_app does to its legs.
                if (spelled.first == "offer" || spelled.first == "answer")
                    legs.set(spelled.second, LegStatus::Negotiating);
                else if (spelled.first == "close")
                    legs.remove(spelled.second);
                got.push_back(std::move(spelled));
            }
            check_str_eq(lines(normalise(got)),
                         expected_actions(json_object_get_array_member(step, "out")));
        }
        if (json_object_has_member(step, "connections"))
            check_str_eq(legs_text(legs),
                         expected_legs(json_object_get_object_member(step, "connections")));
    }
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    const char *path = g_getenv("DUET_ROOM_RULES");
    if (!path)
        g_error("DUET_ROOM_RULES must name tests/room-rules/cases.json");
    auto parser = std::shared_ptr<JsonParser>(json_parser_new(), g_object_unref);
    GError *err = nullptr;
    if (!json_parser_load_from_file(parser.get(), path, &err))
        g_error("%s: %s", path, err->message);
    JsonObject *root = json_node_get_object(json_parser_get_root(parser.get()));
    JsonObject *defaults = json_object_get_object_member(root, "defaults");
    JsonArray *cases = json_object_get_array_member(root, "cases");
    std::vector<std::unique_ptr<Case>> all;
    for (guint i = 0; i < json_array_get_length(cases); ++i) {
        JsonObject *c = json_array_get_object_element(cases, i);
        all.push_back(std::make_unique<Case>(Case{parser, defaults, c}));
        std::string test = std::string("/room-rules/") + json_object_get_string_member(c, "name");
        g_test_add_data_func(test.c_str(), all.back().get(), run_case);
    }
    g_assert_cmpuint(all.size(), >=, 10);
    return g_test_run();
}

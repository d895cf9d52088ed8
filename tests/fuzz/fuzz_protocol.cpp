// SPDX-License-Identifier: MIT
// libFuzzer target: the protocol parser/validator must accept or refuse any bytes, never
// crash, and whatever it accepts must survive a serialise/parse round trip unchanged.
#include "signaling/protocol.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace duet::proto;

namespace {

void check(bool ok) {
    if (!ok)
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char *>(data), size);

    auto client = parse_client(text);
    if (auto *m = std::get_if<ClientMessage>(&client)) {
        auto again = parse_client(to_json(*m));
        check(std::holds_alternative<ClientMessage>(again));
        auto &a = *m;
        auto &b = std::get<ClientMessage>(again);
        check(a.index() == b.index());
        if (auto *j = std::get_if<Join>(&a)) {
            check(j->room == std::get<Join>(b).room);
            check(j->resume == std::get<Join>(b).resume);
            // A room name the validator accepts is stable under re-validation.
            if (auto room = normalize_room(j->room)) {
                auto again = normalize_room(*room);
                check(again && *again == *room);
            }
        }
        if (auto *s = std::get_if<Signal>(&a)) {
            check(s->to == std::get<Signal>(b).to);
            check(s->data_json == std::get<Signal>(b).data_json);
            if (auto d = parse_signal_data(s->data_json)) {
                auto d2 = parse_signal_data(to_json(*d));
                check(d2 && d2->index() == d->index());
            }
        }
    }

    auto server = parse_server(text);
    if (auto *m = std::get_if<ServerMessage>(&server)) {
        auto again = parse_server(to_json(*m));
        check(std::holds_alternative<ServerMessage>(again));
        check(std::get<ServerMessage>(again).index() == m->index());
    }
    return 0;
}

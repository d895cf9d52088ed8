// SPDX-License-Identifier: MIT
// libFuzzer target: drives the room registry with an arbitrary sequence of joins, signals,
// leaves, drops and clock ticks, checking its invariants after every step.
#include "signaling/registry.h"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>

using namespace duet::signaling;
using namespace duet::proto;

namespace {

void check(bool ok) {
    if (!ok)
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    RegistryConfig cfg;
    cfg.max_peers = 2 + (size ? data[0] % 3 : 0);
    cfg.resume_grace = std::chrono::seconds(5);
    int counter = 0;
    Registry r(cfg, [&counter](std::size_t bytes) {
        return (bytes > 8 ? "t" : "p") + std::to_string(++counter);
    });
    Clock::time_point now{};
    std::map<ConnId, std::string> joined;       // conn -> peer id, as the clients see it
    std::map<ConnId, std::string> tokens;       // conn -> last resume token
    std::map<std::string, std::string> room_of; // peer id -> room
    const char *rooms[] = {"a", "b", " a ", "", "c"};

    for (std::size_t i = 1; i + 2 < size; i += 3) {
        std::uint8_t op = data[i] % 6, conn = data[i + 1] % 8 + 1, arg = data[i + 2];
        Effects fx;
        switch (op) {
        case 0:
            r.handle(conn, Join{rooms[arg % 5], std::nullopt}, now, fx);
            break;
        case 1: {
            std::optional<std::string> tok;
            auto src = tokens.find(ConnId(arg % 8 + 1));
            if (src != tokens.end())
                tok = src->second;
            r.handle(conn, Join{rooms[arg % 5], tok}, now, fx);
            break;
        }
        case 2: {
            std::string to = "p" + std::to_string(arg % 16);
            r.handle(conn, Signal{to, "{}"}, now, fx);
            break;
        }
        case 3:
            r.handle(conn, Leave{}, now, fx);
            break;
        case 4:
            r.disconnected(conn, now, fx);
            break;
        case 5:
            now += std::chrono::seconds(arg % 8);
            r.expire(now, fx);
            break;
        }
        for (ConnId c : fx.close)
            joined.erase(c);
        if (op == 3 || op == 4)
            joined.erase(conn);
        for (auto &s : fx.send) {
            if (auto *j = std::get_if<Joined>(&s.msg)) {
                joined[s.to] = j->id;
                tokens[s.to] = j->resume;
                room_of[j->id] = j->room;
                check(j->peers.size() < cfg.max_peers);
            }
            // Relays only go to joined connections in the sender's room.
            if (auto *rel = std::get_if<Relayed>(&s.msg)) {
                check(joined.count(s.to) == 1);
                check(room_of[rel->from] == room_of[joined[s.to]]);
                check(joined[conn] == rel->from);
            }
        }
        for (const char *room : {"a", "b", "c"})
            check(r.member_count(room) <= cfg.max_peers);
        check(r.connection_count() <= 8);
        std::set<std::string> ids;
        for (auto &[c, id] : joined)
            check(ids.insert(id).second); // one connection per seat
    }
    return 0;
}

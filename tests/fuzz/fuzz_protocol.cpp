// SPDX-License-Identifier: MIT
// libFuzzer target: the protocol parser/validator must accept or refuse any bytes, never
// crash, and whatever it accepts must survive a serialise/parse round trip unchanged.
// Differential too: parse_client's one-pass scanner (signaling/json_scan.h) must agree with
// json-glib on every message, but for json-glib's departures from JSON, and a relayed
// frame must be JSON that both read back.
#include "signaling/json_scan.h"
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

bool digit(char c) {
    return c >= '0' && c <= '9';
}

// json-glib takes `text` but the scanner refused it at `p`: fine only where json-glib is
// more lenient than JSON, and the bytes at the fault must show which leniency it was.
bool json_glib_leniency(std::string_view text, const json::Problem &p) {
    char at = p.at < text.size() ? text[p.at] : '\0';
    char before = p.at > 0 && p.at <= text.size() ? text[p.at - 1] : '\0';
    switch (p.fault) {
    case json::Fault::Syntax:
        // 'single quoted', /* comments */, $1F (GScanner's Pascal-style hex)
        return at == '\'' || at == '/' || at == '$';
    case json::Fault::Number:
        // .5, 1., 1.e5, 01, 0x1F
        return at == '.' || before == '.' ||
               (before == '0' && (digit(at) || at == 'x' || at == 'X'));
    case json::Fault::NumberTooLarge:
        // Past a double's range: json-glib reads the digits into an int64, which wraps
        // around, and applies any exponent to that (5555555555555555555555555e5550 came out
        // finite): whatever json-glib took here, it was not the number that was sent.
        return true;
    case json::Fault::Trailing:
        return true; // json-glib stops after the first value
    case json::Fault::NotObject:
        // a byte order mark, or a comment before the object (json-glib skips // and /* */)
        return text.substr(0, 3) == "\xEF\xBB\xBF" || at == '/';
    default:
        return false;
    }
}

void differential(std::string_view text) {
    json::Member members[] = {{"type", {}}, {"to", {}}, {"data", {}}};
    json::Problem scanned = json::scan_object(text, members);
    std::string glib_problem = json_glib_object_problem(text);
    if (!scanned)
        check(glib_problem.empty()); // what the scanner takes, json-glib takes
    else if (glib_problem.empty())
        check(json_glib_leniency(text, scanned));

    auto fast = parse_client(text);
    auto slow = parse_client_json_glib(text);
    if (auto *e = std::get_if<ParseError>(&slow)) {
        // json-glib refuses: parse_client refuses the same way, word for word.
        auto *f = std::get_if<ParseError>(&fast);
        check(f && f->code == e->code && f->message == e->message);
        return;
    }
    if (auto *f = std::get_if<ParseError>(&fast)) {
        // Only what is not JSON, and with the scanner's reason.
        check(scanned && f->code == ErrorCode::BadMessage && f->message == scanned.message());
        return;
    }
    auto &a = std::get<ClientMessage>(fast);
    auto &b = std::get<ClientMessage>(slow);
    check(a.index() == b.index());
    auto *s = std::get_if<Signal>(&a);
    if (!s)
        return;
    // The same `to`; the same `data` once json-glib has re-read the raw bytes.
    check(s->to == std::get<Signal>(b).to);
    std::string frame = to_json(ServerMessage{Relayed{s->to, s->data_json}});
    json::Member relayed[] = {{"from", {}}, {"data", {}}};
    check(!json::scan_object(frame, relayed) && relayed[1].raw == s->data_json);
    auto reread = parse_server(frame);
    auto *r = std::get_if<ServerMessage>(&reread);
    check(r && std::holds_alternative<Relayed>(*r));
    check(std::get<Relayed>(*r).from == s->to);
    check(std::get<Relayed>(*r).data_json == std::get<Signal>(b).data_json);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char *>(data), size);
    differential(text);

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

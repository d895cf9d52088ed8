// SPDX-License-Identifier: MIT
// Unit tests for protocol parsing, validation and JSON output.
#include "signaling/protocol.h"

#include <glib.h>

#include "tests/check_str.h"

using namespace duet::proto;

namespace {

ErrorCode parse_error(const std::string &text) {
    auto r = parse_client(text);
    g_assert_true(std::holds_alternative<ParseError>(r));
    return std::get<ParseError>(r).code;
}

void test_join() {
    auto r = parse_client(R"({"type":"join","room":"kitchen"})");
    auto &j = std::get<Join>(std::get<ClientMessage>(r));
    check_str(j.room, ==, "kitchen");
    g_assert_false(j.resume.has_value());

    r = parse_client(R"({"type":"join","room":"k","resume":"abc"})");
    check_str(*std::get<Join>(std::get<ClientMessage>(r)).resume, ==, "abc");
    r = parse_client(R"({"type":"join","room":"k","resume":null})");
    g_assert_false(std::get<Join>(std::get<ClientMessage>(r)).resume.has_value());
    g_assert_false(std::get<Join>(std::get<ClientMessage>(r)).make_private);
}

void test_join_private() {
    const std::string key = "0123456789abcdef0123456789ABCD-_";
    auto r = parse_client(R"({"type":"join","room":"k","private":true,"key":")" + key + "\"}");
    auto &j = std::get<Join>(std::get<ClientMessage>(r));
    g_assert_true(j.make_private);
    check_str(*j.key, ==, key.c_str());
    // What the client writes, the server reads back.
    auto again = std::get<Join>(std::get<ClientMessage>(parse_client(to_json(ClientMessage{j}))));
    g_assert_true(again.make_private);
    check_str(*again.key, ==, key.c_str());

    // Keys too short, too long, with other characters or of another type are refused.
    g_assert_true(parse_error(R"({"type":"join","room":"k","key":"short"})") ==
                  ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"join","room":"k","key":")" + std::string(129, 'a') +
                              "\"}") == ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"join","room":"k","key":")" + std::string(31, 'a') +
                              "/\"}") == ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"join","room":"k","key":42})") == ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"join","room":"k","private":"yes"})") ==
                  ErrorCode::BadMessage);
    g_assert_true(valid_key(std::string(kMinKeyChars, 'a')));

    // Lobby requests from members, and a newcomer's display name (room-name rules).
    auto lobby = parse_client(R"({"type":"lobby","on":true})");
    g_assert_true(std::get<SetLobby>(std::get<ClientMessage>(lobby)).on);
    auto admit = parse_client(to_json(ClientMessage{Admit{"t9"}}));
    check_str(std::get<Admit>(std::get<ClientMessage>(admit)).id, ==, "t9");
    auto decline = parse_client(to_json(ClientMessage{Decline{"t9"}}));
    check_str(std::get<Decline>(std::get<ClientMessage>(decline)).id, ==, "t9");
    g_assert_true(parse_error(R"({"type":"lobby"})") == ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"admit","id":7})") == ErrorCode::BadMessage);
    auto named = parse_client(R"({"type":"join","room":"k","name":"  Ana  "})");
    check_str(*std::get<Join>(std::get<ClientMessage>(named)).name, ==, "Ana");
    g_assert_true(parse_error(R"({"type":"join","room":"k","name":"\u202eana"})") ==
                  ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"join","room":"k","name":""})") == ErrorCode::BadMessage);
    g_assert_false(valid_key(std::string(kMinKeyChars - 1, 'a')));
}

void test_signal_and_leave() {
    auto r = parse_client(
        R"({"type":"signal","to":"ab12","data":{"sdp":{"type":"offer","sdp":"v=0"}}})");
    auto &s = std::get<Signal>(std::get<ClientMessage>(r));
    check_str(s.to, ==, "ab12");
    auto data = parse_signal_data(s.data_json);
    g_assert_true(data.ok());
    check_str(std::get<SdpData>(*data).sdp, ==, "v=0");

    r = parse_client(R"({"type":"leave"})");
    g_assert_true(std::holds_alternative<Leave>(std::get<ClientMessage>(r)));
}

void test_malformed() {
    g_assert_true(parse_error("") == ErrorCode::BadMessage);
    g_assert_true(parse_error("not json") == ErrorCode::BadMessage);
    g_assert_true(parse_error("[1,2]") == ErrorCode::BadMessage);
    g_assert_true(parse_error("42") == ErrorCode::BadMessage);
    g_assert_true(parse_error("{}") == ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":7})") == ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"dance"})") == ErrorCode::UnknownType);
    g_assert_true(parse_error(R"({"type":"join"})") == ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"join","room":5})") == ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"join","room":"a","resume":5})") == ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"signal","to":"x","data":"str"})") ==
                  ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"signal","data":{}})") == ErrorCode::BadMessage);
    g_assert_true(parse_error("{\"type\":\"join\",\"room\":\"a\\u0000b\"}") ==
                  ErrorCode::BadMessage);
    g_assert_true(parse_error("{\"type\":\"join\",\"room\":\"\xff\"}") == ErrorCode::BadMessage);
    // json-glib decodes octal escapes, which JSON does not have, into bytes that are not
    // UTF-8; a signal carrying one would have been relayed as a broken text frame (found by
    // tests/fuzz, kept in tests/fuzz/regressions/protocol/). JSON's own escapes still work.
    g_assert_true(parse_error(R"({"type":"join","room":"a\222b"})") == ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"signal","to":"x","data":{"s":"\222"}})") ==
                  ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"join","room":"a\qb"})") == ErrorCode::BadMessage);
    // The same for "\u" with fewer than four hex digits, which json-glib half-decodes into
    // bytes that are not UTF-8 (found by tests/fuzz in a key of a candidate), for UTF-16
    // surrogates that are not in pairs, and for raw control characters, which JSON forbids.
    for (const char *text :
         {R"({"type":"signal","to":"x","data":{"candi\udate":"c"}})",
          R"({"type":"join","room":"a\u12"})", R"({"type":"join","room":"a\u12g4"})",
          R"({"type":"join","room":"a\ud83d"})", R"({"type":"join","room":"a\ud83db"})",
          R"({"type":"join","room":"a\ud83d\u0041"})", R"({"type":"join","room":"a\ude00"})",
          "{\"type\":\"join\",\"room\":\"a\x17"
          "b\"}",
          "{\"type\":\"join\",\"room\":\"a\tb\"}"})
        if (parse_error(text) != ErrorCode::BadMessage)
            g_error("accepted %s", text);
    // A number beyond a double's range would be relayed as "inf.0", which is not JSON
    // (found by tests/fuzz); a large finite one is fine.
    g_assert_true(parse_error(R"({"type":"signal","to":"x","data":{"n":1e999}})") ==
                  ErrorCode::BadMessage);
    g_assert_true(parse_error(R"({"type":"signal","to":"x","data":{"a":[0,[-1e400]]}})") ==
                  ErrorCode::BadMessage);
    g_assert_true(std::holds_alternative<ClientMessage>(
        parse_client(R"({"type":"signal","to":"x","data":{"n":1e300}})")));
    // An escaped backslash before "u0000" is two ordinary characters, not a NUL.
    auto literal = parse_client(R"({"type":"join","room":"a\\u0000"})");
    check_str(std::get<Join>(std::get<ClientMessage>(literal)).room, ==, "a\\u0000");
    // A surrogate pair is one character: the emoji, in UTF-8, survives a round trip.
    auto pair = parse_client(R"({"type":"join","room":"\ud83d\ude00 \uD83D\uDE00"})");
    check_str(std::get<Join>(std::get<ClientMessage>(pair)).room, ==,
              "\xF0\x9F\x98\x80 \xF0\x9F\x98\x80");
    auto ok = parse_client(R"({"type":"join","room":"a\"\\\/\b\f\n\r\t\u00e9"})");
    g_assert_true(std::holds_alternative<ClientMessage>(ok));
    std::string deep(10000, '[');
    g_assert_true(parse_error(deep.c_str()) == ErrorCode::BadMessage);
}

void test_room_names() {
    check_str(normalize_room("  kitchen \t").value(), ==, "kitchen");
    auto empty = normalize_room("");
    g_assert_false(empty.ok());
    check_str(empty.message(), ==, "room name is empty");
    g_assert_false(normalize_room("   ").ok());
    g_assert_false(normalize_room("a\x01"
                                  "b")
                       .ok());
    g_assert_false(normalize_room("a\nb").ok());
    g_assert_false(normalize_room(std::string_view("a\0b", 3)).ok());
    g_assert_true(normalize_room(std::string(64, 'x')).ok());
    g_assert_false(normalize_room(std::string(65, 'x')).ok());
    // Code points, not bytes: 64 emoji are 256 bytes and still a valid name.
    std::string emoji;
    for (int i = 0; i < 64; ++i)
        emoji += "\xF0\x9F\x98\x80";
    g_assert_true(normalize_room(emoji).ok());
    g_assert_false(normalize_room(emoji + "\xF0\x9F\x98\x80").ok());
    check_str(normalize_room("\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D").value(), ==,
              "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D"); // Hebrew "shalom"
    // Unicode white space is trimmed too (U+3000 ideographic space).
    check_str(normalize_room("\xE3\x80\x80room\xE3\x80\x80").value(), ==, "room");
}

// Refused with `why` mentioning `needle`.
void refused(std::string_view name, const char *needle) {
    auto got = normalize_room(name);
    if (got)
        g_error("accepted room name \"%s\" (as \"%s\")", std::string(name).c_str(), got->c_str());
    const std::string &why = got.message();
    if (why.find(needle) == std::string::npos)
        g_error("refused \"%s\" for \"%s\", expected a reason with \"%s\"",
                std::string(name).c_str(), why.c_str(), needle);
}

// Issue 11 item 7: names that look like one thing and are another.
void test_room_names_nfc() {
    // "café" with a precomposed é (NFC) and as e + combining acute (NFD): one room, spelled
    // in NFC, which is what joined.room echoes.
    const char *nfc = "caf\xC3\xA9";
    const char *nfd = "cafe\xCC\x81";
    check_str(normalize_room(nfd).value(), ==, nfc);
    check_str(normalize_room(nfc).value(), ==, nfc);
    check_str(normalize_room(std::string(" ") + nfd + " ").value(), ==, nfc);
    // Hangul syllables composed from their jamo.
    check_str(normalize_room("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB").value(), ==, "\xED\x95\x9C");
    // The limit counts the normalised name: 64 é written as 128 code points in NFD fit, 65
    // do not.
    std::string e64, e65;
    for (int i = 0; i < 64; ++i)
        e64 += "e\xCC\x81";
    e65 = e64 + "e\xCC\x81";
    auto got = normalize_room(e64);
    g_assert_true(got.ok());
    g_assert_cmpint(g_utf8_strlen(got->c_str(), -1), ==, 64);
    refused(e65, "64");
    // NFC, not NFKC: compatibility forms (fullwidth letters, the "fi" ligature) stay as typed.
    check_str(normalize_room("\xEF\xBC\xA1").value(), ==, "\xEF\xBC\xA1");
    check_str(normalize_room("\xEF\xAC\x81le").value(), ==, "\xEF\xAC\x81le");
}

void test_room_names_invisible() {
    const char *no_visible = "no visible characters";
    refused("\xE2\x80\x8B", no_visible);                         // U+200B zero-width space
    refused("\xE2\x80\x8B\xE2\x80\x8B\xE2\x80\x8B", no_visible); // three of them
    refused(" \xE2\x80\x8B \xE2\x80\x8B ", no_visible);          // mixed with spaces
    refused("\xE2\x80\x8C\xE2\x80\x8D", no_visible);             // ZWNJ, ZWJ
    refused("\xE2\x81\xA0", no_visible);                         // U+2060 word joiner
    refused("\xEF\xBB\xBF", no_visible);                         // U+FEFF BOM
    refused("\xC2\xAD\xC2\xAD", no_visible);                     // U+00AD soft hyphen
    refused("\xE1\xA0\x8E", no_visible);                         // U+180E Mongolian vowel sep.
    refused("\xE2\x80\x8E\xE2\x80\x8F", no_visible);             // LRM, RLM
    refused("\xF3\xA0\x80\xA1\xF3\xA0\x81\xBF", no_visible);     // tags U+E0021, U+E007F
    refused("\xEF\xB8\x8F", no_visible);                         // U+FE0F variation selector
    refused("\xF3\xA0\x84\x80", no_visible);                     // U+E0100 VS17
    refused("\xCD\x8F", no_visible);                             // U+034F grapheme joiner
    refused("\xE3\x85\xA4\xE3\x85\xA4", no_visible);             // U+3164 Hangul filler
    refused("\xE2\xA0\x80\xE2\xA0\x80", no_visible);             // U+2800 braille blank
    refused("\xE2\x80\x8B\xC2\xA0\xE2\x80\x8B", no_visible);     // ZWSP, NBSP, ZWSP
    // Still empty after trimming, as before: a plain "empty" reason.
    refused(" \xC2\xA0\xE3\x80\x80 ", "empty");

    // One visible character is enough, and the invisible ones that carry meaning stay.
    const char *coder = "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB"; // woman, ZWJ, laptop
    check_str(normalize_room(coder).value(), ==, coder);
    const char *family = "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7";
    check_str(normalize_room(family).value(), ==, family);
    const char *heart = "\xE2\x9D\xA4\xEF\xB8\x8F"; // U+2764 U+FE0F
    check_str(normalize_room(heart).value(), ==, heart);
    // Flag of Scotland: black flag + tag letters "gbsct" + cancel tag.
    const char *scotland = "\xF0\x9F\x8F\xB4\xF3\xA0\x81\xA7\xF3\xA0\x81\xA2\xF3\xA0\x81\xB3"
                           "\xF3\xA0\x81\xA3\xF3\xA0\x81\xB4\xF3\xA0\x81\xBF";
    check_str(normalize_room(scotland).value(), ==, scotland);
    // Persian "mi-khaham" needs its ZWNJ; the name is kept as typed.
    const char *persian = "\xD9\x85\xDB\x8C\xE2\x80\x8C\xD8\xAE\xD9\x88\xD8\xA7\xD9\x87\xD9\x85";
    check_str(normalize_room(persian).value(), ==, persian);
    // An invisible inside a visible name is kept (not stripped): the name is what was typed.
    check_str(normalize_room("a\xE2\x80\x8B"
                             "b")
                  .value(),
              ==,
              "a\xE2\x80\x8B"
              "b");
}

void test_room_names_bidi() {
    const char *direction = "text-direction";
    refused("\xE2\x80\xAE"
            "abc",
            "U+202E"); // RIGHT-TO-LEFT OVERRIDE
    refused("invoice\xE2\x80\xAE"
            "fdp.exe",
            direction);
    refused("a\xE2\x80\xAA"
            "b",
            "U+202A"); // LRE
    refused("a\xE2\x80\xAB"
            "b",
            "U+202B"); // RLE
    refused("a\xE2\x80\xAC"
            "b",
            "U+202C"); // PDF
    refused("a\xE2\x80\xAD"
            "b",
            "U+202D"); // LRO
    // Isolates too, matched or not (see room_name.cpp for why).
    refused("a\xE2\x81\xA6"
            "b\xE2\x81\xA9",
            "U+2066"); // LRI .. PDI
    refused("a\xE2\x81\xA7"
            "b",
            "U+2067"); // RLI
    refused("a\xE2\x81\xA8"
            "b",
            "U+2068");                   // FSI
    refused("ab\xE2\x81\xA9", "U+2069"); // PDI
    // An override made only of invisibles is refused for the override, the clearer reason.
    refused("\xE2\x80\xAE", direction);
    // Marks have no scope: allowed next to visible text.
    const char *marked = "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D\xE2\x80\x8E 2"; // shalom, LRM, " 2"
    check_str(normalize_room(marked).value(), ==, marked);
    // Right-to-left text and digits, unmarked, are ordinary names.
    check_str(normalize_room("\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D 2024").value(), ==,
              "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D 2024");
}

void test_server_roundtrip() {
    Joined j{"id1", "r\"oom", {"a", "b"}, "tok", true, R"([{"urls":"stun:x"}])"};
    auto back = parse_server(to_json(ServerMessage{j}));
    auto &k = std::get<Joined>(std::get<ServerMessage>(back));
    check_str(k.room, ==, "r\"oom");
    g_assert_cmpuint(k.peers.size(), ==, 2);
    g_assert_true(k.resumed);
    check_str(k.ice_servers_json, ==, R"([{"urls":"stun:x"}])");

    g_assert_false(k.is_private);
    g_assert_true(k.key.empty());
    j.is_private = true;
    j.key = "secret-key";
    auto p = std::get<Joined>(std::get<ServerMessage>(parse_server(to_json(ServerMessage{j}))));
    g_assert_true(p.is_private);
    check_str(p.key, ==, "secret-key");

    // Display names: an object by id in `joined`, a field of `peer-joined`; both optional.
    g_assert_true(p.names.empty());
    j.names = {{"a", "Ana \"A\""}, {"b", "\xD7\xA9\xD7\x9C"}};
    auto n = std::get<Joined>(std::get<ServerMessage>(parse_server(to_json(ServerMessage{j}))));
    g_assert_cmpuint(n.names.size(), ==, 2);
    for (const auto &[id, name] : n.names)
        check_str(name, ==, id == "a" ? "Ana \"A\"" : "\xD7\xA9\xD7\x9C");
    auto bad_names = parse_server(
        R"({"type":"joined","id":"x","room":"r","resume":"t","peers":[],"names":{"a":1}})");
    g_assert_true(std::holds_alternative<ParseError>(bad_names));
    auto pj = parse_server(to_json(ServerMessage{PeerJoined{"x", false, "Bo"}}));
    check_str(std::get<PeerJoined>(std::get<ServerMessage>(pj)).name, ==, "Bo");
    check_str(to_json(ServerMessage{PeerJoined{"x", false, ""}}), ==,
              R"({"type":"peer-joined","id":"x","resumed":false})");

    for (auto code : {ErrorCode::RoomFull, ErrorCode::PrivateRoom, ErrorCode::RoomNotPrivate,
                      ErrorCode::TooManyAttempts}) {
        auto e = parse_server(to_json(ServerMessage{Error{code, "x"}}));
        g_assert_true(std::get<Error>(std::get<ServerMessage>(e)).code == code);
    }
    check_str(error_code_name(ErrorCode::PrivateRoom), ==, "private-room");

    // The lobby's messages, both ways.
    auto req = parse_server(to_json(ServerMessage{AdmitRequest{"t1", "Ana"}}));
    check_str(std::get<AdmitRequest>(std::get<ServerMessage>(req)).name, ==, "Ana");
    auto res = parse_server(to_json(ServerMessage{AdmitResolved{"t1", AdmitOutcome::TimedOut}}));
    g_assert_true(std::get<AdmitResolved>(std::get<ServerMessage>(res)).outcome ==
                  AdmitOutcome::TimedOut);
    check_str(to_json(ServerMessage{AdmitResolved{"t1", AdmitOutcome::TimedOut}}), ==,
              R"({"type":"admit-resolved","id":"t1","outcome":"timeout"})");
    auto w = parse_server(to_json(ServerMessage{Waiting{"home"}}));
    check_str(std::get<Waiting>(std::get<ServerMessage>(w)).room, ==, "home");
    g_assert_true(std::get<LobbyState>(std::get<ServerMessage>(
                                           parse_server(to_json(ServerMessage{LobbyState{true}}))))
                      .on);
    for (auto code : {ErrorCode::Declined, ErrorCode::LobbyTimeout}) {
        auto e = parse_server(to_json(ServerMessage{Error{code, "x"}}));
        g_assert_true(std::get<Error>(std::get<ServerMessage>(e)).code == code);
    }

    auto l = parse_server(to_json(ServerMessage{PeerLeft{"x", LeaveReason::Dropped}}));
    g_assert_true(std::get<PeerLeft>(std::get<ServerMessage>(l)).reason == LeaveReason::Dropped);

    auto rel = parse_server(to_json(ServerMessage{Relayed{"p", R"({"a":1})"}}));
    check_str(std::get<Relayed>(std::get<ServerMessage>(rel)).from, ==, "p");
}

void test_signal_data() {
    CandidateData c{"candidate:1 1 UDP 1 127.0.0.1 5000 typ host", 1, "1"};
    auto back = parse_signal_data(to_json(SignalData{c}));
    g_assert_true(back.ok());
    auto &d = std::get<CandidateData>(*back);
    g_assert_cmpuint(d.mline_index, ==, 1);
    check_str(d.mid, ==, "1");

    SdpData s{"answer", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"};
    auto sb = parse_signal_data(to_json(SignalData{s}));
    check_str(std::get<SdpData>(*sb).sdp, ==, s.sdp.c_str());

    g_assert_false(parse_signal_data(R"({"sdp":{"type":"pranswer","sdp":""}})").ok());
    g_assert_false(parse_signal_data(R"({"candidate":{"candidate":"x"}})").ok());
    g_assert_false(parse_signal_data(R"({"candidate":{"candidate":"x","sdpMLineIndex":-1}})").ok());
    g_assert_false(parse_signal_data(R"({"other":1})").ok());
    // Out of range, fractional, or too large for any integer (once undefined behaviour in the
    // conversion, found by fuzzing): refused. Whole numbers written as doubles are fine.
    for (const char *idx : {"1025", "1.5", "5555555555555555555555555555e0", "1e400", "-0.5"}) {
        std::string text =
            std::string(R"({"candidate":{"candidate":"x","sdpMLineIndex":)") + idx + "}}";
        if (parse_signal_data(text).ok())
            g_error("accepted sdpMLineIndex %s", idx);
    }
    for (auto [idx, want] : {std::pair{"0", 0u}, std::pair{"2.0", 2u}, std::pair{"1024", 1024u}}) {
        std::string text =
            std::string(R"({"candidate":{"candidate":"x","sdpMLineIndex":)") + idx + "}}";
        auto got = parse_signal_data(text);
        g_assert_true(got.ok());
        g_assert_cmpuint(std::get<CandidateData>(*got).mline_index, ==, want);
    }
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/protocol/join", test_join);
    g_test_add_func("/protocol/join-private", test_join_private);
    g_test_add_func("/protocol/signal-and-leave", test_signal_and_leave);
    g_test_add_func("/protocol/malformed", test_malformed);
    g_test_add_func("/protocol/room-names", test_room_names);
    g_test_add_func("/protocol/room-names-nfc", test_room_names_nfc);
    g_test_add_func("/protocol/room-names-invisible", test_room_names_invisible);
    g_test_add_func("/protocol/room-names-bidi", test_room_names_bidi);
    g_test_add_func("/protocol/server-roundtrip", test_server_roundtrip);
    g_test_add_func("/protocol/signal-data", test_signal_data);
    return g_test_run();
}

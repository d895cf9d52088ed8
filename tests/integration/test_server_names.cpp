// SPDX-License-Identifier: MIT
// Integration tests: a real duet-server on loopback keeps NFC room identity and refuses room names
// that deceive.
#include "harness.h"
#ifdef DUET_TEST_MEDIA_CALL
#include "peer_harness.h"
#endif

#include <glib.h>

#include "tests/check_str.h"

#include <memory>
#include <string>

using namespace duet::testing;

namespace {

std::unique_ptr<ServerProcess> server;

// As after every abuse: a fresh pair still completes a call (with real media when
// duet-peer is built).
void assert_pair_still_works(const ServerProcess &s) {
    assert_call_completes(s);
#ifdef DUET_TEST_MEDIA_CALL
    assert_media_call_completes(s);
#endif
}

// A join frame whose room is `room_json`, already a JSON string body (may hold \u escapes).
std::string join_json(const std::string &room_json) {
    return R"({"type":"join","room":")" + room_json + "\"}";
}

// The next frame `c` receives, whatever its type ("" after 5 s).
std::string next_frame(Client &c) {
    if (!wait_until([&] { return !c.inbox().empty(); }))
        return "";
    std::string m = std::move(c.inbox().front());
    c.inbox().pop_front();
    return m;
}

const char *const kNfc = "caf\xC3\xA9";  // é as U+00E9
const char *const kNfd = "cafe\xCC\x81"; // e + U+0301

// Issue 11 item 7: "café" typed either way is one room, echoed in NFC.
void test_nfc_and_nfd_are_one_room() {
    Client a(server->ws_url()), b(server->ws_url()), c(server->ws_url());
    a.send(join_json(kNfc));
    std::string ja = a.next("joined");
    check_str(json_str(ja, "room"), ==, kNfc);

    b.send(join_json(kNfd));
    std::string jb = b.next("joined");
    g_assert_false(jb.empty());
    check_str(json_str(jb, "room"), ==, kNfc);
    auto peers = json_strs(jb, "peers");
    g_assert_cmpuint(peers.size(), ==, 1);
    check_str(peers[0], ==, json_str(ja, "id"));
    check_str(json_str(a.next("peer-joined"), "id"), ==, json_str(jb, "id"));

    // The same name as a JSON escape of the combining accent, padded: the room is full.
    c.send(join_json(" cafe\\u0301 "));
    std::string full = c.next("error");
    check_str(json_str(full, "code"), ==, "room-full");

    // 64 characters once normalised (128 code points as sent) is a valid name.
    std::string e64;
    for (int i = 0; i < 64; ++i)
        e64 += "e\xCC\x81";
    Client d(server->ws_url());
    d.send(join_json(e64));
    std::string jd = d.next("joined");
    g_assert_false(jd.empty());
    g_assert_cmpint(g_utf8_strlen(json_str(jd, "room").c_str(), -1), ==, 64);
    Client e(server->ws_url());
    e.send(join_json(e64 + "e\xCC\x81"));
    check_str(json_str(e.next("error"), "code"), ==, "invalid-room");
    assert_pair_still_works(*server);
}

void test_deceiving_names_refused() {
    struct Case {
        std::string room_json; // JSON string body
        const char *reason;    // expected in the error message
    };
    const Case cases[] = {
        {"\\u200b", "no visible characters"},
        {"\\u200b\\u200b\\u200b", "no visible characters"},
        {" \\u200b \\u200b ", "no visible characters"},
        {"\\u200c\\u200d", "no visible characters"},
        {"\\u2060", "no visible characters"},
        {"\\ufeff", "no visible characters"},
        {"\\u00ad", "no visible characters"},
        {"\\u180e", "no visible characters"},
        {"\\u200e\\u200f", "no visible characters"},
        {"\\udb40\\udc21\\udb40\\udc7f", "no visible characters"}, // tags U+E0021, U+E007F
        {"\\ufe0f", "no visible characters"},
        {"\\u3164", "no visible characters"},
        {"\\u2800", "no visible characters"},
        {"\xE2\x80\x8B", "no visible characters"}, // raw UTF-8 too
        {"\\u202eabc", "U+202E"},
        {"invoice\\u202efdp.exe", "U+202E"},
        {"a\\u202ab", "U+202A"},
        {"a\\u202bb", "U+202B"},
        {"a\\u202cb", "U+202C"},
        {"a\\u202db", "U+202D"},
        {"a\\u2066b\\u2069", "U+2066"},
        {"a\\u2067b", "U+2067"},
        {"a\\u2068b", "U+2068"},
        {"ab\\u2069", "U+2069"},
    };
    Client c(server->ws_url());
    for (const auto &k : cases) {
        c.send(join_json(k.room_json));
        std::string err = next_frame(c);
        if (json_str(err, "code") != "invalid-room" ||
            json_str(err, "message").find(k.reason) == std::string::npos)
            g_error("join \"%s\": got %s, expected invalid-room with \"%s\"", k.room_json.c_str(),
                    err.c_str(), k.reason);
        g_assert_true(c.open());
    }

    // Invisible characters with a job inside a visible name are fine.
    const char *ok[] = {
        "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB", // woman technologist (ZWJ)
        "\xE2\x9D\xA4\xEF\xB8\x8F",                     // red heart + VS16
        "\xF0\x9F\x8F\xB4\xF3\xA0\x81\xA7\xF3\xA0\x81\xA2\xF3\xA0\x81\xB3\xF3\xA0\x81\xA3"
        "\xF3\xA0\x81\xB4\xF3\xA0\x81\xBF",               // flag of Scotland (tags)
        "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D\xE2\x80\x8E 2", // shalom, LRM, " 2"
    };
    for (const char *room : ok) {
        c.send(join_json(room));
        std::string joined = next_frame(c);
        if (json_str(joined, "type") != "joined")
            g_error("join \"%s\": got %s, expected joined", room, joined.c_str());
        check_str(json_str(joined, "room"), ==, room);
        c.send(R"({"type":"leave"})");
    }
    assert_pair_still_works(*server);
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    server = std::make_unique<ServerProcess>();
    g_test_add_func("/server-names/nfc-nfd-one-room", test_nfc_and_nfd_are_one_room);
    g_test_add_func("/server-names/deceiving-refused", test_deceiving_names_refused);
    int rc = g_test_run();
    server.reset();
    return rc;
}

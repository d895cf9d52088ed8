// SPDX-License-Identifier: MIT
// Integration tests: private rooms and the lobby on a real duet-server over real sockets.
// The key is required, wrong keys are refused and then rate-limited per address, the key
// lives as long as the room, a resume token needs no key, and a stranger learns nothing of
// members. With "ask before anyone joins", a newcomer waits until a member admits or
// declines, or the lobby times out; the waiting person learns nothing of who is inside.
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

std::string join(const std::string &room, const std::string &extra = "") {
    return R"({"type":"join","room":")" + room + "\"" + extra + "}";
}
std::string with_key(const std::string &key) {
    return R"(,"key":")" + key + "\"";
}
const std::string kPrivate = R"(,"private":true)";

std::string error_code_of(Client &c) {
    return json_str(c.next("error"), "code");
}

// Everything `c` has been sent so far: a request that always answers (a signal to nobody)
// makes the server reply, and replies go out in order, so what came before is all there.
std::vector<std::string> drain(Client &c) {
    c.send(R"({"type":"signal","to":"nobody","data":{}})");
    std::vector<std::string> got;
    for (;;) {
        g_assert_true(wait_until([&] { return !c.inbox().empty(); }));
        std::string m = std::move(c.inbox().front());
        c.inbox().pop_front();
        // The probe's answer: unknown-peer in a room, not-joined outside one.
        std::string code = json_str(m, "type") == "error" ? json_str(m, "code") : "";
        if (code == "unknown-peer" || code == "not-joined")
            return got;
        got.push_back(m);
    }
}

void test_key_required() {
    Client owner(server->ws_url());
    owner.send(join("grandma", kPrivate));
    std::string created = owner.next("joined");
    g_assert_true(json_bool(created, "private"));
    std::string key = json_str(created, "key");
    g_assert_cmpuint(key.size(), ==, 32); // 128 random bits, hex
    g_assert_cmpuint(key.find_first_not_of("0123456789abcdef"), ==, std::string::npos);

    Client stranger(server->ws_url());
    stranger.send(join("grandma"));
    std::string refusal = stranger.next("error");
    check_str(json_str(refusal, "code"), ==, "private-room");
    check_str(json_str(refusal, "message"), ==, "This room is private: ask for its link");
    stranger.send(join("grandma", with_key(std::string(32, '0'))));
    check_str(error_code_of(stranger), ==, "private-room");
    // The owner heard nothing of either attempt.
    g_assert_cmpuint(drain(owner).size(), ==, 0);

    Client family(server->ws_url());
    family.send(join("grandma", with_key(key)));
    std::string in = family.next("joined");
    g_assert_true(json_bool(in, "private"));
    check_str(json_str(in, "key"), ==, ""); // only the creator is handed it
    g_assert_cmpuint(json_strs(in, "peers").size(), ==, 1);
    check_str(json_str(owner.next("peer-joined"), "id"), ==, json_str(in, "id").c_str());
    g_assert_cmpfloat(metric(*server, "duet_private_rooms"), >=, 1);
}

void test_open_room_stays_open() {
    Client a(server->ws_url()), b(server->ws_url());
    a.send(join("open-door"));
    g_assert_false(json_bool(a.next("joined"), "private"));
    // Asking to make an existing open room private is refused, not silently ignored.
    b.send(join("open-door", kPrivate));
    check_str(error_code_of(b), ==, "room-not-private");
    b.send(join("open-door"));
    g_assert_false(b.next("joined").empty());
}

void test_resume_needs_no_key_and_key_dies_with_room() {
    std::string key, token;
    {
        Client owner(server->ws_url());
        owner.send(join("lid", kPrivate));
        std::string created = owner.next("joined");
        key = json_str(created, "key");
        token = json_str(created, "resume");
    } // dropped: the seat, and the room's key, are held for the resume grace
    Client stranger(server->ws_url());
    stranger.send(join("lid"));
    check_str(error_code_of(stranger), ==, "private-room");

    Client back(server->ws_url());
    back.send(join("lid", R"(,"resume":")" + token + "\""));
    std::string resumed = back.next("joined");
    g_assert_true(json_bool(resumed, "resumed"));
    g_assert_true(json_bool(resumed, "private"));

    // Everyone leaves: the room goes, and with it the key; the name is open again.
    back.send(R"({"type":"leave"})");
    g_assert_true(wait_until([&] {
        Client probe(server->ws_url());
        probe.send(join("lid"));
        std::string r = probe.next("joined", 2000);
        return !r.empty() && !json_bool(r, "private");
    }));
}

void test_wrong_keys_rate_limited() {
    // Its own server: the limit is per address, and every test here comes from 127.0.0.1.
    ServerProcess own;
    Client owner(own.ws_url());
    owner.send(join("vault", kPrivate));
    std::string key = json_str(owner.next("joined"), "key");
    Client guesser(own.ws_url());
    int refused = 0;
    std::string code;
    for (int i = 0; i < 50 && code != "too-many-attempts"; ++i) {
        std::string guess = std::string(31, 'a') + char('a' + i % 26);
        guesser.send(join("vault", with_key(guess)));
        code = error_code_of(guesser);
        refused += code == "private-room";
    }
    check_str(code, ==, "too-many-attempts");
    g_assert_cmpint(refused, ==, 10); // the documented burst
    // Over the limit even the right key is not looked at, from any socket of this address.
    Client again(own.ws_url());
    again.send(join("vault", with_key(key)));
    std::string limited = again.next("error");
    check_str(json_str(limited, "code"), ==, "too-many-attempts");
    g_assert_nonnull(strstr(json_str(limited, "message").c_str(), "try again in"));
    g_assert_cmpfloat(metric(own, "duet_room_key_failures_total"), ==, 10);
    g_assert_cmpfloat(metric(own, "duet_room_key_attempts_refused_total"), ==, 2);
    // Open rooms are not affected, and the owner never heard a thing.
    again.send(join("elsewhere"));
    g_assert_false(again.next("joined").empty());
    g_assert_cmpuint(drain(owner).size(), ==, 0);
    assert_call_completes(own);
}

void test_bad_keys_are_bad_messages() {
    Client c(server->ws_url());
    for (const char *extra : {R"(,"key":"short")", R"(,"key":42)", R"(,"private":"yes")",
                              R"(,"key":"0123456789abcdef0123456789abcde/")"}) {
        c.send(join("badkey", extra));
        check_str(error_code_of(c), ==, "bad-message");
    }
    g_assert_true(c.open());
#ifdef DUET_TEST_MEDIA_CALL
    assert_media_call_completes(*server);
#else
    assert_call_completes(*server);
#endif
}

// Turns the lobby on from `member` and waits until the server says so.
void lobby_on(Client &member) {
    member.send(R"({"type":"lobby","on":true})");
    g_assert_true(json_bool(member.next("lobby"), "on"));
}

void test_lobby_admit_and_decline() {
    Client host(server->ws_url());
    host.send(join("porch"));
    std::string hj = host.next("joined");
    g_assert_false(json_bool(hj, "lobby"));
    lobby_on(host);

    Client guest(server->ws_url());
    guest.send(join("porch", R"(,"name":"Ana")"));
    std::string wait = guest.next("waiting");
    check_str(json_str(wait, "room"), ==, "porch");
    // Everything the waiting person got is that one line: no ids, no count, no names.
    g_assert_cmpuint(drain(guest).size(), ==, 0);
    g_assert_true(strstr(wait.c_str(), json_str(hj, "id").c_str()) == nullptr);

    std::string ask = host.next("admit-request");
    check_str(json_str(ask, "name"), ==, "Ana");
    // The knock keeps the socket: the server's 10 s join timeout must not close it.
    host.send(R"({"type":"admit","id":")" + json_str(ask, "id") + "\"}");
    std::string in = guest.next("joined");
    g_assert_true(json_bool(in, "lobby"));
    g_assert_cmpuint(json_strs(in, "peers").size(), ==, 1);
    check_str(json_str(host.next("admit-resolved"), "outcome"), ==, "admitted");
    check_str(json_str(host.next("peer-joined"), "id"), ==, json_str(in, "id").c_str());

    Client other(server->ws_url());
    other.send(join("porch", R"(,"name":"Bo")"));
    other.next("waiting");
    std::string ask2 = host.next("admit-request");
    g_assert_false(guest.next("admit-request").empty()); // every member is asked
    host.send(R"({"type":"decline","id":")" + json_str(ask2, "id") + "\"}");
    std::string no = other.next("error");
    check_str(json_str(no, "code"), ==, "declined");
    g_assert_true(other.open());
    check_str(json_str(guest.next("admit-resolved"), "outcome"), ==, "declined");
    // Straight back: refused for a while, and nobody inside is rung again.
    other.send(join("porch"));
    check_str(error_code_of(other), ==, "too-many-attempts");
    g_assert_cmpuint(drain(host).size(), ==, 1); // the decline's admit-resolved only
}

void test_lobby_timeout_and_resume() {
    ServerProcess own({"--lobby-timeout", "2", "--join-timeout", "1"});
    Client host(own.ws_url());
    host.send(join("door"));
    std::string token = json_str(host.next("joined"), "resume");
    lobby_on(host);
    Client guest(own.ws_url());
    guest.send(join("door"));
    guest.next("waiting");
    g_assert_cmpfloat(metric(own, "duet_lobby_waiting"), ==, 1);
    // Nobody answers: after --lobby-timeout the guest is told, the host's request goes.
    // (--join-timeout 1: a waiting socket is not closed as idle.)
    std::string late = guest.next("error", 5000);
    check_str(json_str(late, "code"), ==, "lobby-timeout");
    g_assert_true(guest.open());
    check_str(json_str(host.next("admit-resolved", 5000), "outcome"), ==, "timeout");

    // The host drops and resumes: its token needs no one's leave.
    host.close();
    Client back(own.ws_url());
    back.send(join("door", R"(,"resume":")" + token + "\""));
    std::string resumed = back.next("joined");
    g_assert_true(json_bool(resumed, "resumed"));
    g_assert_true(json_bool(resumed, "lobby"));
    assert_call_completes(own);
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    server = std::make_unique<ServerProcess>(std::vector<std::string>{"--max-peers", "3"});
    g_test_add_func("/private/key-required", test_key_required);
    g_test_add_func("/private/open-room-stays-open", test_open_room_stays_open);
    g_test_add_func("/private/resume-and-key-lifetime",
                    test_resume_needs_no_key_and_key_dies_with_room);
    g_test_add_func("/private/wrong-keys-rate-limited", test_wrong_keys_rate_limited);
    g_test_add_func("/private/bad-keys", test_bad_keys_are_bad_messages);
    g_test_add_func("/lobby/admit-and-decline", test_lobby_admit_and_decline);
    g_test_add_func("/lobby/timeout-and-resume", test_lobby_timeout_and_resume);
    int rc = g_test_run();
    server.reset();
    return rc;
}

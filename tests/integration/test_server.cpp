// SPDX-License-Identifier: MIT
// Integration tests: a real duet-server process driven by real WebSocket clients on loopback.
#include "harness.h"
#ifdef DUET_TEST_MEDIA_CALL
#include "peer_harness.h"
#endif

#include <glib.h>

#include "tests/check_str.h"
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include <cstring>

#include <algorithm>
#include <functional>
#include <memory>

using namespace duet::testing;

namespace {

std::unique_ptr<ServerProcess> server;

std::string join_msg(const std::string &room) {
    std::string out = "{\"type\":\"join\",\"room\":";
    out += "\"" + room + "\"}";
    return out;
}

// After each abusive client, a normal pair in another room must still complete a call:
// its signaling, and (when duet-peer is built) a real call with media both ways.
void assert_pair_still_works(const ServerProcess &s) {
    assert_call_completes(s);
#ifdef DUET_TEST_MEDIA_CALL
    assert_media_call_completes(s);
#endif
}
void assert_pair_still_works() {
    assert_pair_still_works(*server);
}

std::string error_code_of(Client &c) {
    return json_str(c.next("error"), "code");
}

void test_http() {
    SoupSession *s = soup_session_new();
    for (auto [path, needle] : {std::pair{"healthz", "ok"}, std::pair{"", "<"}}) {
        SoupMessage *m = soup_message_new("GET", (server->http_url() + path).c_str());
        GBytes *body = soup_session_send_and_read(s, m, nullptr, nullptr);
        g_assert_cmpuint(soup_message_get_status(m), ==, 200);
        gsize n = 0;
        auto *d = static_cast<const char *>(g_bytes_get_data(body, &n));
        g_assert_nonnull(g_strstr_len(d, gssize(n), needle));
        g_bytes_unref(body);
        g_object_unref(m);
    }
    SoupMessage *m = soup_message_new("GET", (server->http_url() + "../../etc/passwd").c_str());
    GBytes *body = soup_session_send_and_read(s, m, nullptr, nullptr);
    g_assert_cmpuint(soup_message_get_status(m), ==, 404);
    g_bytes_unref(body);
    g_object_unref(m);
    g_object_unref(s);
}

void test_join_relay_leave() {
    Client a(server->ws_url()), b(server->ws_url());
    a.send(join_msg("kitchen"));
    std::string ja = a.next("joined");
    g_assert_cmpuint(json_strs(ja, "peers").size(), ==, 0);
    check_str(json_str(ja, "room"), ==, "kitchen");
    g_assert_false(json_str(ja, "resume").empty());

    b.send(join_msg("  kitchen  "));
    std::string jb = b.next("joined");
    auto peers = json_strs(jb, "peers");
    g_assert_cmpuint(peers.size(), ==, 1);
    check_str(peers[0], ==, json_str(ja, "id").c_str());
    std::string pj = a.next("peer-joined");
    check_str(json_str(pj, "id"), ==, json_str(jb, "id").c_str());

    // `from` is set by the server even if the client tries to forge it.
    b.send(
        R"({"type":"signal","to":")" + json_str(ja, "id") +
        R"(","from":"forged","data":{"candidate":{"candidate":"c","sdpMLineIndex":0,"sdpMid":"0"}}})");
    std::string rel = a.next("signal");
    check_str(json_str(rel, "from"), ==, json_str(jb, "id").c_str());
    g_assert_nonnull(strstr(rel.c_str(), "\"sdpMLineIndex\":0"));

    b.send(R"({"type":"leave"})");
    std::string left = a.next("peer-left");
    check_str(json_str(left, "reason"), ==, "left");
    // The socket stays usable after leave.
    b.send(join_msg("kitchen"));
    g_assert_false(b.next("joined").empty());
}

void test_room_full() {
    Client a(server->ws_url()), b(server->ws_url()), c(server->ws_url());
    a.send(join_msg("full"));
    a.next("joined");
    b.send(join_msg("full"));
    b.next("joined");
    c.send(join_msg("full"));
    check_str(error_code_of(c), ==, "room-full");
    g_assert_true(c.open());
    c.send(join_msg("not-full"));
    g_assert_false(c.next("joined").empty());
}

void test_bad_input() {
    struct Case {
        std::string frame;
        const char *code;
    };
    const Case cases[] = {
        {"not json", "bad-message"},
        {"[1,2,3]", "bad-message"},
        {"42", "bad-message"},
        {"{}", "bad-message"},
        {R"({"type":"teleport"})", "unknown-type"},
        {R"({"type":1})", "bad-message"},
        {R"({"type":"join","room":7})", "bad-message"},
        {R"({"type":"join"})", "bad-message"},
        {R"({"type":"join","room":"a","resume":5})", "bad-message"},
        {R"({"type":"signal","to":5,"data":{}})", "bad-message"},
        {R"({"type":"signal","to":"p1","data":"v=0"})", "bad-message"},
        {R"({"type":"signal","to":"p1"})", "bad-message"},
        {R"({"type":"join","room":""})", "invalid-room"},
        {R"({"type":"join","room":"    "})", "invalid-room"},
        {R"({"type":"join","room":")" + std::string(65, 'x') + "\"}", "invalid-room"},
        {R"({"type":"join","room":"a\u0007b"})", "invalid-room"},
        {R"({"type":"join","room":"a\u0000b"})", "bad-message"},
        {R"({"type":"signal","to":"p1","data":{"sdp":"\222"}})", "bad-message"},
        {R"({"type":"signal","to":"p1","data":{"candi\udate":"c"}})", "bad-message"},
        {R"({"type":"signal","to":"p1","data":{"n":1e999}})", "bad-message"},
        {R"({"type":"signal","to":"p1","data":{"sdp":"\ud83d"}})", "bad-message"},
        {R"({"type":"signal","to":"p1","data":{"sdp":"\ude00"}})", "bad-message"},
        {"{\"type\":\"signal\",\"to\":\"p1\",\"data\":{\"sdp\":\"a\x01\"}}", "bad-message"},
        {R"({"type":"signal","to":"nobody","data":{}})", "not-joined"},
        {R"({"type":"leave"})", "not-joined"},
    };
    Client c(server->ws_url());
    for (const auto &k : cases) {
        c.send(k.frame);
        std::string err = c.next("error");
        check_str(json_str(err, "code"), ==, k.code);
        g_assert_false(json_str(err, "message").empty());
        g_assert_true(c.open());
    }
    c.send_binary("\x01\x02");
    check_str(error_code_of(c), ==, "bad-message");
    // 64 characters is the longest name allowed (65 was refused above).
    Client longest(server->ws_url());
    longest.send(join_msg(std::string(64, 'x')));
    g_assert_false(longest.next("joined").empty());
    // Emoji and right-to-left names are allowed.
    c.send(join_msg("\xF0\x9F\x8E\x89 \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D"));
    g_assert_false(c.next("joined").empty());
    c.send(join_msg("again"));
    check_str(error_code_of(c), ==, "already-joined");
    c.send(R"({"type":"signal","to":"nobody","data":{}})");
    check_str(error_code_of(c), ==, "unknown-peer");
    assert_pair_still_works();
}

void test_oversized_frame_closes_1009() {
    Client c(server->ws_url());
    c.send("{\"type\":\"join\",\"room\":\"" + std::string(70 * 1024, 'x') + "\"}");
    g_assert_true(c.wait_closed());
    g_assert_cmpuint(c.close_code(), ==, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
    assert_pair_still_works();
}

void test_rooms_are_isolated() {
    Client a1(server->ws_url()), a2(server->ws_url()), b1(server->ws_url()), b2(server->ws_url());
    a1.send(join_msg("iso-a"));
    std::string ja1 = a1.next("joined");
    b1.send(join_msg("iso-b"));
    std::string jb1 = b1.next("joined");
    a2.send(join_msg("iso-a"));
    a2.next("joined");
    b2.send(join_msg("iso-b"));
    b2.next("joined");
    // A peer in room B cannot reach a peer in room A, even knowing its id.
    b2.send(R"({"type":"signal","to":")" + json_str(ja1, "id") + R"(","data":{"x":1}})");
    check_str(error_code_of(b2), ==, "unknown-peer");
    a1.send(R"({"type":"signal","to":")" + json_str(jb1, "id") + R"(","data":{"x":1}})");
    check_str(error_code_of(a1), ==, "unknown-peer");
    g_assert_true(a1.next("signal", 300).empty());
    g_assert_true(b1.next("signal", 300).empty());
    assert_pair_still_works();
}

void test_drop_and_resume() {
    Client a(server->ws_url());
    auto b = std::make_unique<Client>(server->ws_url());
    a.send(join_msg("resume"));
    a.next("joined");
    b->send(join_msg("resume"));
    std::string jb = b->next("joined");
    a.next("peer-joined");
    b.reset(); // socket closes without `leave`: a drop

    std::string left = a.next("peer-left");
    check_str(json_str(left, "reason"), ==, "dropped");
    // The seat is held: a stranger cannot take it.
    Client stranger(server->ws_url());
    stranger.send(join_msg("resume"));
    check_str(error_code_of(stranger), ==, "room-full");

    Client back(server->ws_url());
    back.send(R"({"type":"join","room":"resume","resume":")" + json_str(jb, "resume") + "\"}");
    std::string jr = back.next("joined");
    g_assert_true(json_bool(jr, "resumed"));
    check_str(json_str(jr, "id"), ==, json_str(jb, "id").c_str());
    std::string pj = a.next("peer-joined");
    g_assert_true(json_bool(pj, "resumed"));
}

void test_resume_replaces_open_socket() {
    Client a(server->ws_url()), b(server->ws_url());
    a.send(join_msg("takeover"));
    a.next("joined");
    b.send(join_msg("takeover"));
    std::string jb = b.next("joined");
    Client b2(server->ws_url());
    b2.send(R"({"type":"join","room":"takeover","resume":")" + json_str(jb, "resume") + "\"}");
    g_assert_true(json_bool(b2.next("joined"), "resumed"));
    g_assert_true(b.wait_closed());
    g_assert_cmpuint(b.close_code(), ==, 4001);
    // The stale socket's close must not make the live seat look dropped.
    g_assert_true(a.next("peer-left", 300).empty());
}

void test_grace_expiry() {
    ServerProcess quick({"--resume-grace", "1"});
    Client a(quick.ws_url());
    auto b = std::make_unique<Client>(quick.ws_url());
    a.send(join_msg("r"));
    a.next("joined");
    b->send(join_msg("r"));
    b->next("joined");
    b.reset();
    check_str(json_str(a.next("peer-left"), "reason"), ==, "dropped");
    check_str(json_str(a.next("peer-left", 4000), "reason"), ==, "expired");
    Client c(quick.ws_url());
    c.send(join_msg("r"));
    g_assert_false(c.next("joined").empty());
}

void test_max_peers_flag() {
    ServerProcess three({"--max-peers", "3"});
    Client a(three.ws_url()), b(three.ws_url()), c(three.ws_url()), d(three.ws_url());
    for (Client *x : {&a, &b, &c}) {
        x->send(join_msg("trio"));
        g_assert_false(x->next("joined").empty());
    }
    d.send(join_msg("trio"));
    check_str(error_code_of(d), ==, "room-full");
}

void test_flood_is_closed_1008() {
    Client c(server->ws_url());
    c.send(join_msg("flood"));
    c.next("joined");
    // 1,000 messages in a burst is far beyond 50/s with a burst of 200.
    for (int i = 0; i < 1000 && c.open(); ++i)
        c.send(R"({"type":"signal","to":"nobody","data":{}})");
    g_assert_true(c.wait_closed());
    g_assert_cmpuint(c.close_code(), ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
    assert_pair_still_works();
}

void test_idle_sockets_time_out() {
    ServerProcess strict({"--join-timeout", "1", "--max-connections-per-ip", "1000"});
    std::vector<std::unique_ptr<Client>> idle;
    for (int i = 0; i < 500; ++i)
        idle.push_back(std::make_unique<Client>(strict.ws_url()));
    Client member(strict.ws_url());
    member.send(join_msg("stays"));
    g_assert_false(member.next("joined").empty());
    for (auto &c : idle)
        g_assert_true(c->wait_closed(10000));
    g_assert_cmpuint(idle[0]->close_code(), ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
    // A socket in a room is never idle.
    g_assert_true(member.open());
    assert_pair_still_works(strict);
}

void test_origin_check() {
    // Same origin (what a page served by this server sends) and no Origin (native) pass.
    std::string own = server->http_url().substr(0, server->http_url().size() - 1);
    Client same(server->ws_url(), own.c_str());
    g_assert_true(same.open());
    Client native(server->ws_url());
    g_assert_true(native.open());
    // A page on another site is refused before the upgrade.
    Client evil(server->ws_url(), "http://evil.example");
    g_assert_false(evil.open());
    g_assert_cmpuint(evil.handshake_status(), ==, SOUP_STATUS_FORBIDDEN);

    ServerProcess allowing({"--allow-origin", "https://app.example"});
    Client allowed(allowing.ws_url(), "https://app.example");
    g_assert_true(allowed.open());
    Client other(allowing.ws_url(), "https://other.example");
    g_assert_cmpuint(other.handshake_status(), ==, SOUP_STATUS_FORBIDDEN);
}

void test_metrics() {
    ServerProcess fresh;
    Client a(fresh.ws_url()), b(fresh.ws_url()), c(fresh.ws_url());
    a.send(join_msg("m"));
    std::string ja = a.next("joined");
    b.send(join_msg("m"));
    b.next("joined");
    c.send(join_msg("m"));
    c.next("error");
    for (int i = 0; i < 3; ++i)
        b.send(R"({"type":"signal","to":")" + json_str(ja, "id") + R"(","data":{}})");
    for (int i = 0; i < 3; ++i)
        a.next("signal");
    guint status = 0;
    std::string text = http_get(fresh.http_url() + "metrics", &status);
    g_assert_cmpuint(status, ==, 200);
    g_assert_cmpfloat(metric(text, "duet_rooms"), ==, 1);
    g_assert_cmpfloat(metric(text, "duet_peers"), ==, 2);
    g_assert_cmpfloat(metric(text, "duet_connections"), ==, 3);
    g_assert_cmpfloat(metric(text, "duet_messages_relayed_total"), ==, 3);
    g_assert_cmpfloat(metric(text, "duet_errors_total{code=\"room-full\"}"), ==, 1);
    // Every non-comment line is "name[{labels}] number".
    gchar **lines = g_strsplit(text.c_str(), "\n", -1);
    for (gchar **l = lines; *l; ++l) {
        if (!**l || **l == '#')
            continue;
        g_assert_true(g_regex_match_simple("^[a-z_]+(\\{[a-z]+=\"[a-z-]+\"\\})? [0-9.]+$", *l,
                                           GRegexCompileFlags(0), GRegexMatchFlags(0)));
    }
    g_strfreev(lines);
}

void test_tls() {
    gchar *dir = g_dir_make_tmp("duet-tls-XXXXXX", nullptr);
    std::string cert = std::string(dir) + "/cert.pem", key = std::string(dir) + "/key.pem";
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
                      key + " -out " + cert + " 2>/dev/null";
    gint status = 0;
    g_assert_true(g_spawn_command_line_sync(("sh -c '" + cmd + "'").c_str(), nullptr, nullptr,
                                            &status, nullptr));
    g_assert_true(g_spawn_check_wait_status(status, nullptr));
    {
        ServerProcess tls({"--tls-cert", cert, "--tls-key", key, "--http-timeout", "2"});
        g_assert_true(tls.tls());
        // A client that connects and never starts its TLS handshake holds a descriptor
        // only until --http-timeout.
        GSocketClient *sc = g_socket_client_new();
        std::string hostport = tls.http_url().substr(8, tls.http_url().size() - 9);
        GSocketConnection *idle =
            g_socket_client_connect_to_host(sc, hostport.c_str(), 0, nullptr, nullptr);
        g_assert_nonnull(idle);
        GSocket *raw = g_socket_connection_get_socket(idle);
        g_socket_set_timeout(raw, 10);
        gint64 t0 = g_get_monotonic_time();
        char byte;
        g_assert_cmpint(g_socket_receive(raw, &byte, 1, nullptr, nullptr), <=, 0);
        gint64 waited_ms = (g_get_monotonic_time() - t0) / 1000;
        g_test_message("a silent TLS connection was closed after %" G_GINT64_FORMAT " ms",
                       waited_ms);
        g_assert_cmpint(waited_ms, <, 9000);
        g_object_unref(idle);
        g_object_unref(sc);
        guint http_status = 0;
        check_str(http_get(tls.http_url() + "healthz", &http_status), ==, "ok\n");
        g_assert_cmpuint(http_status, ==, 200);
        Client a(tls.ws_url()), b(tls.ws_url());
        a.send(join_msg("secure"));
        g_assert_false(a.next("joined").empty());
        b.send(join_msg("secure"));
        g_assert_false(b.next("joined").empty());
        g_assert_false(a.next("peer-joined").empty());
    }
    for (auto &f : {cert, key})
        g_remove(f.c_str());
    g_rmdir(dir);
    g_free(dir);
}

void test_turn_credentials_and_config_file() {
    gchar *dir = g_dir_make_tmp("duet-cfg-XXXXXX", nullptr);
    std::string secret = std::string(dir) + "/secret", conf = std::string(dir) + "/duet.conf";
    g_assert_true(g_file_set_contents(secret.c_str(), "s3cret\n", -1, nullptr));
    std::string text = "[server]\nmax-peers=3\nstun-uri=stun:127.0.0.1:3478\n"
                       "turn-uri=turn:127.0.0.1:3478?transport=udp\nturn-ttl=600\n"
                       "turn-secret-file=" +
                       secret + "\n";
    g_assert_true(g_file_set_contents(conf.c_str(), text.c_str(), -1, nullptr));
    {
        ServerProcess configured({"--config", conf});
        Client a(configured.ws_url());
        a.send(join_msg("turn"));
        std::string joined = a.next("joined");
        std::string id = json_str(joined, "id");
        // username = expiry:peer-id, credential = base64(HMAC-SHA1(secret, username)).
        const char *u = strstr(joined.c_str(), "\"username\":\"");
        g_assert_nonnull(u);
        u += strlen("\"username\":\"");
        std::string username(u, strchr(u, '"'));
        gint64 expiry = g_ascii_strtoll(username.c_str(), nullptr, 10);
        gint64 now = g_get_real_time() / G_USEC_PER_SEC;
        g_assert_cmpint(expiry, >=, now + 590);
        g_assert_cmpint(expiry, <=, now + 610);
        g_assert_true(g_str_has_suffix(username.c_str(), (":" + id).c_str()));
        GHmac *h = g_hmac_new(G_CHECKSUM_SHA1, (const guchar *)"s3cret", 6);
        g_hmac_update(h, (const guchar *)username.data(), gssize(username.size()));
        guint8 digest[20];
        gsize len = 20;
        g_hmac_get_digest(h, digest, &len);
        g_hmac_unref(h);
        gchar *b64 = g_base64_encode(digest, len);
        g_assert_nonnull(strstr(joined.c_str(), (std::string("\"credential\":\"") + b64).c_str()));
        g_free(b64);
        g_assert_nonnull(strstr(joined.c_str(), "stun:127.0.0.1:3478"));
        // max-peers=3 from the file took effect.
        Client b(configured.ws_url()), c(configured.ws_url());
        b.send(join_msg("turn"));
        c.send(join_msg("turn"));
        g_assert_false(c.next("joined").empty());
    }
    g_remove(secret.c_str());
    g_remove(conf.c_str());
    g_rmdir(dir);
    g_free(dir);
}

// The first `joined` or `error` reply in c's inbox, skipping notices about other
// members (peer-joined/peer-left), or "".
std::string reply_of(Client &c) {
    std::string reply;
    wait_until([&] {
        while (!c.inbox().empty()) {
            std::string m = std::move(c.inbox().front());
            c.inbox().pop_front();
            std::string type = json_str(m, "type");
            if (type == "joined" || type == "error") {
                reply = std::move(m);
                return true;
            }
        }
        return false;
    });
    return reply;
}

// How many servers a race spreads its joiners over: 1, or DUET_TEST_INSTANCES (the cluster
// suite runs this file with every server on one Redis, tests/cluster/meson.build).
int race_instances() {
    const char *n = g_getenv("DUET_TEST_INSTANCES");
    return n ? std::max(1, atoi(n)) : 1;
}

// 50 clients send `join` for one room at the same moment: exactly max-peers get in. With
// several instances the clients take turns among them, so the seats are contended across
// instances.
void join_race(int max_peers, const std::string &prefix) {
    // Its own servers, so seats held by earlier tests' drops do not count in /metrics.
    std::vector<std::unique_ptr<ServerProcess>> own;
    for (int i = 0; i < race_instances(); ++i)
        own.push_back(std::make_unique<ServerProcess>(
            std::vector<std::string>{"--max-peers", std::to_string(max_peers)}));
    std::vector<std::unique_ptr<Client>> clients;
    for (std::size_t i = 0; i < 50; ++i)
        clients.push_back(std::make_unique<Client>(own[i % own.size()]->ws_url()));
    for (int round = 0; round < 100; ++round) {
        std::string room = prefix + std::to_string(round);
        for (auto &c : clients)
            c->send(join_msg(room));
        int joined = 0, full = 0;
        std::vector<Client *> winners;
        for (auto &c : clients) {
            std::string reply = reply_of(*c);
            g_assert_false(reply.empty());
            if (json_str(reply, "type") == "joined") {
                ++joined;
                winners.push_back(c.get());
            } else if (json_str(reply, "code") == "room-full")
                ++full;
        }
        g_assert_cmpint(joined, ==, max_peers);
        g_assert_cmpint(full, ==, 50 - max_peers);
        for (Client *w : winners)
            w->send(R"({"type":"leave"})");
        // Poll the registry through /metrics until every seat is free before the next round.
        guint status = 0;
        for (auto &s : own)
            g_assert_true(wait_until([&] {
                std::string m = http_get(s->http_url() + "metrics", &status);
                return strstr(m.c_str(), "\nduet_peers 0\n") != nullptr;
            }));
        for (auto &c : clients)
            c->inbox().clear();
    }
}

void test_join_race() {
    join_race(2, "race-");
}

void test_join_race_3() {
    join_race(3, "race3-");
}

// A dropped member resumes while strangers race for its held seat: the seat stays theirs.
void test_resume_race() {
    for (int round = 0; round < 100; ++round) {
        std::string room = "resume-race-" + std::to_string(round);
        Client a(server->ws_url());
        auto b = std::make_unique<Client>(server->ws_url());
        a.send(join_msg(room));
        a.next("joined");
        b->send(join_msg(room));
        std::string token = json_str(b->next("joined"), "resume");
        b.reset();
        g_assert_false(a.next("peer-left").empty());
        Client back(server->ws_url()), s1(server->ws_url()), s2(server->ws_url());
        s1.send(join_msg(room));
        back.send(R"({"type":"join","room":")" + room + R"(","resume":")" + token + "\"}");
        s2.send(join_msg(room));
        g_assert_true(json_bool(back.next("joined"), "resumed"));
        check_str(json_str(s1.next("error"), "code"), ==, "room-full");
        check_str(json_str(s2.next("error"), "code"), ==, "room-full");
        a.send(R"({"type":"leave"})");
        back.send(R"({"type":"leave"})");
    }
}

// Everything at once in a full room: one member's socket drops and it resumes on a new
// one, the other member leaves, and strangers try to join. Whatever order the server sees
// them in, the dropped member gets its own seat back, at most one stranger takes the seat
// the leaver freed, and the room then holds exactly what the replies said.
void test_leave_resume_race() {
    ServerProcess own;
    constexpr int kStrangers = 8;
    int stranger_wins = 0;
    for (int round = 0; round < 100; ++round) {
        std::string room = "leave-resume-race-" + std::to_string(round);
        Client a(own.ws_url());
        auto b = std::make_unique<Client>(own.ws_url());
        a.send(join_msg(room));
        g_assert_false(a.next("joined").empty());
        b->send(join_msg(room));
        std::string token = json_str(b->next("joined"), "resume");
        g_assert_false(token.empty());
        Client back(own.ws_url());
        std::vector<std::unique_ptr<Client>> strangers;
        for (int i = 0; i < kStrangers; ++i)
            strangers.push_back(std::make_unique<Client>(own.ws_url()));
        // The race: no waiting between these, and in a new order each round (the seeded
        // GTest random order, so a failing round can be replayed with its -seed).
        std::vector<std::function<void()>> moves{[&] { b.reset(); },
                                                 [&] {
                                                     back.send(R"({"type":"join","room":")" + room +
                                                               R"(","resume":")" + token + "\"}");
                                                 },
                                                 [&] { a.send(R"({"type":"leave"})"); }};
        for (auto &c : strangers)
            moves.push_back([&c, &room] { c->send(join_msg(room)); });
        for (std::size_t i = moves.size() - 1; i > 0; --i)
            std::swap(moves[i], moves[std::size_t(g_test_rand_int_range(0, gint32(i) + 1))]);
        for (auto &move : moves)
            move();

        std::string resumed = reply_of(back);
        g_assert_true(json_str(resumed, "type") == "joined" && json_bool(resumed, "resumed"));
        int in = 0;
        for (auto &c : strangers) {
            std::string r = reply_of(*c);
            if (json_str(r, "type") == "joined")
                ++in;
            else
                check_str(json_str(r, "code"), ==, "room-full");
        }
        g_assert_cmpint(in, <=, 1);
        stranger_wins += in;
        // The room holds `back` and `in` strangers: a latecomer gets in only if that is one.
        Client late(own.ws_url());
        late.send(join_msg(room));
        std::string r = reply_of(late);
        if (in == 1)
            check_str(json_str(r, "code"), ==, "room-full");
        else
            check_str(json_str(r, "type"), ==, "joined");
        for (auto *c : {&back, &late})
            c->send(R"({"type":"leave"})");
        for (auto &c : strangers)
            c->send(R"({"type":"leave"})");
        guint status = 0;
        g_assert_true(wait_until([&] {
            std::string m = http_get(own.http_url() + "metrics", &status);
            return strstr(m.c_str(), "\nduet_peers 0\n") != nullptr;
        }));
    }
    g_test_message("leave/resume race: a stranger took the freed seat in %d of 100 rounds",
                   stranger_wins);
}

void test_connections_per_ip_and_message_size() {
    ServerProcess limited({"--max-connections-per-ip", "3", "--max-message-size", "2048"});
    auto a = std::make_unique<Client>(limited.ws_url());
    Client b(limited.ws_url()), c(limited.ws_url());
    g_assert_true(a->open() && b.open() && c.open());
    Client d(limited.ws_url());
    g_assert_false(d.open());
    g_assert_cmpuint(d.handshake_status(), ==, 429);
    // A closed connection frees its place.
    a.reset();
    g_assert_true(wait_until([&] {
        Client e(limited.ws_url());
        return e.open();
    }));
    // The configured size limit applies: 3 KiB is over 2 KiB.
    b.send("{\"type\":\"join\",\"room\":\"" + std::string(3000, 'x') + "\"}");
    g_assert_true(b.wait_closed());
    g_assert_cmpuint(b.close_code(), ==, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
}

// The protocol fuzz corpus and its saved crash regressions (DUET_FUZZ_CORPUS: directories
// separated by ':', set by meson), each input sent by a member of a room as one frame
// (text if it is UTF-8, else binary). After each, a frame of unknown type must still be
// answered `unknown-type`: the input was handled and the socket and server are alive.
void test_fuzz_corpus() {
    const char *dirs = g_getenv("DUET_FUZZ_CORPUS");
    if (!dirs) {
        g_test_skip("DUET_FUZZ_CORPUS is not set");
        return;
    }
    std::vector<std::string> inputs;
    gchar **list = g_strsplit(dirs, ":", -1);
    for (gchar **dir = list; *dir; ++dir) {
        GDir *d = g_dir_open(*dir, 0, nullptr);
        g_assert_nonnull(d);
        std::vector<std::string> names;
        while (const char *name = g_dir_read_name(d))
            if (name[0] != '.' && g_strcmp0(name, "README") != 0)
                names.emplace_back(std::string(*dir) + "/" + name);
        g_dir_close(d);
        std::sort(names.begin(), names.end());
        inputs.insert(inputs.end(), names.begin(), names.end());
    }
    g_strfreev(list);
    g_assert_cmpuint(inputs.size(), >, 0);
    Client b(server->ws_url());
    b.send(join_msg("fuzz-corpus"));
    g_assert_false(b.next("joined").empty());
    auto a = std::make_unique<Client>(server->ws_url());
    a->send(join_msg("fuzz-corpus"));
    g_assert_false(a->next("joined").empty());
    for (const auto &path : inputs) {
        gchar *bytes = nullptr;
        gsize len = 0;
        g_assert_true(g_file_get_contents(path.c_str(), &bytes, &len, nullptr));
        std::string input(bytes, len);
        g_free(bytes);
        g_test_message("corpus input %s (%zu bytes)", path.c_str(), input.size());
        if (g_utf8_validate(input.data(), gssize(input.size()), nullptr))
            a->send(input);
        else
            a->send_binary(input);
        a->send(R"({"type":"teleport"})");
        std::string err = a->next("error");
        while (!err.empty() && json_str(err, "code") != "unknown-type")
            err = a->next("error");
        check_str(json_str(err, "code"), ==, "unknown-type");
        g_assert_true(a->open());
    }
    assert_pair_still_works();
}

// Under systemd (Type=notify, WatchdogSec) the server reports READY=1 and pings the watchdog.
void test_systemd_notify() {
    gchar *dir = g_dir_make_tmp("duet-notify-XXXXXX", nullptr);
    std::string path = std::string(dir) + "/notify";
    GSocket *sock = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                                 G_SOCKET_PROTOCOL_DEFAULT, nullptr);
    GSocketAddress *addr = g_unix_socket_address_new(path.c_str());
    g_assert_true(g_socket_bind(sock, addr, TRUE, nullptr));
    g_socket_set_timeout(sock, 5);
    {
        ServerProcess notified({}, {{"NOTIFY_SOCKET", path}, {"WATCHDOG_USEC", "200000"}});
        std::vector<std::string> got;
        for (int i = 0; i < 3; ++i) {
            char buf[256];
            gssize n = g_socket_receive(sock, buf, sizeof buf, nullptr, nullptr);
            g_assert_cmpint(n, >, 0);
            got.emplace_back(buf, std::size_t(n));
        }
        check_str(got[0], ==, "READY=1");
        check_str(got[1], ==, "WATCHDOG=1");
        check_str(got[2], ==, "WATCHDOG=1");
    }
    g_object_unref(addr);
    g_object_unref(sock);
    g_remove(path.c_str());
    g_rmdir(dir);
    g_free(dir);
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    server = std::make_unique<ServerProcess>();
    g_test_add_func("/server/http", test_http);
    g_test_add_func("/server/join-relay-leave", test_join_relay_leave);
    g_test_add_func("/server/room-full", test_room_full);
    g_test_add_func("/server/bad-input", test_bad_input);
    g_test_add_func("/server/oversized-frame", test_oversized_frame_closes_1009);
    g_test_add_func("/server/rooms-isolated", test_rooms_are_isolated);
    g_test_add_func("/server/drop-and-resume", test_drop_and_resume);
    g_test_add_func("/server/resume-replaces-open-socket", test_resume_replaces_open_socket);
    g_test_add_func("/server/grace-expiry", test_grace_expiry);
    g_test_add_func("/server/max-peers", test_max_peers_flag);
    g_test_add_func("/server/flood", test_flood_is_closed_1008);
    g_test_add_func("/server/origin", test_origin_check);
    g_test_add_func("/server/per-ip-and-size-limits", test_connections_per_ip_and_message_size);
    g_test_add_func("/server/systemd-notify", test_systemd_notify);
    g_test_add_func("/server/join-race", test_join_race);
    g_test_add_func("/server/join-race-3", test_join_race_3);
    g_test_add_func("/server/fuzz-corpus", test_fuzz_corpus);
    g_test_add_func("/server/resume-race", test_resume_race);
    g_test_add_func("/server/leave-resume-race", test_leave_resume_race);
    g_test_add_func("/server/metrics", test_metrics);
    g_test_add_func("/server/tls", test_tls);
    g_test_add_func("/server/turn-credentials-and-config", test_turn_credentials_and_config_file);
    g_test_add_func("/server/idle-sockets", test_idle_sockets_time_out);
    int rc = g_test_run();
    server.reset();
#ifdef DUET_TEST_MEDIA_CALL
    rc = finish_tests(rc);
#endif
    return rc;
}

// SPDX-License-Identifier: MIT
// Integration tests: several real duet-server processes sharing rooms through a real
// redis-server on loopback (--redis, issue 18). Run under the sanitizers too, so the
// cluster code and the Redis client are checked there; tests/cluster/ has the browser
// and balancer tests.
#include "harness.h"
#include "redis_server.h"

#include <glib.h>

#include "tests/check_str.h"

#include <memory>
#include <string>
#include <vector>

using namespace duet::testing;

namespace {

std::unique_ptr<ServerProcess> instance(const RedisServer &redis,
                                        std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--redis", redis.url(), "--resume-grace", "30"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto s = std::make_unique<ServerProcess>(args);
    // Listening comes first; it takes joins once Redis answers.
    bool up = wait_until([&] {
        guint status = 0;
        http_get(s->http_url() + "healthz", &status);
        return status == 200;
    });
    g_assert_true(up);
    return s;
}

std::string join(Client &c, const std::string &room, const std::string &extra = {}) {
    c.send(R"({"type":"join","room":")" + room + "\"" + extra + "}");
    return c.next("joined");
}

std::string signal_to(const std::string &id, const std::string &data) {
    return R"({"type":"signal","to":")" + id + R"(","data":)" + data + "}";
}

guint healthz(const ServerProcess &s) {
    guint status = 0;
    http_get(s.http_url() + "healthz", &status);
    return status;
}

// Two people on two instances: joined lists the other with its name, signals cross both
// ways untouched, and a third on either instance is told the room is full.
void test_two_instances_one_room() {
    RedisServer redis;
    auto a = instance(redis), b = instance(redis);
    Client ana(a->ws_url()), bob(b->ws_url());
    std::string ja = join(ana, "kitchen", R"(,"name":"Ana")");
    g_assert_false(ja.empty());
    std::string jb = join(bob, "kitchen", R"(,"name":"Bob")");
    g_assert_false(jb.empty());
    std::string ana_id = json_str(ja, "id"), bob_id = json_str(jb, "id");
    auto peers = json_strs(jb, "peers");
    g_assert_cmpuint(peers.size(), ==, 1);
    check_str(peers[0], ==, ana_id);
    g_assert_nonnull(strstr(jb.c_str(), R"("names":{")"));
    g_assert_nonnull(strstr(jb.c_str(), "\"Ana\""));
    std::string pj = ana.next("peer-joined");
    check_str(json_str(pj, "id"), ==, bob_id);
    check_str(json_str(pj, "name"), ==, "Bob");

    bob.send(signal_to(ana_id, R"({"sdp":{"type":"offer","sdp":"v=0\r\n"}})"));
    std::string offer = ana.next("signal");
    check_str(json_str(offer, "from"), ==, bob_id);
    g_assert_nonnull(strstr(offer.c_str(), R"("sdp":"v=0\r\n")"));
    ana.send(signal_to(bob_id, R"({"candidate":{"candidate":"c","sdpMLineIndex":0}})"));
    check_str(json_str(bob.next("signal"), "from"), ==, ana_id);
    // To nobody, or to oneself: unknown-peer, as on a single server.
    ana.send(signal_to("000000000000", "{}"));
    check_str(json_str(ana.next("error"), "code"), ==, "unknown-peer");
    ana.send(signal_to(ana_id, "{}"));
    check_str(json_str(ana.next("error"), "code"), ==, "unknown-peer");

    for (auto *s : {a.get(), b.get()}) {
        Client third(s->ws_url());
        third.send(R"({"type":"join","room":"kitchen"})");
        std::string full = third.next("error");
        check_str(json_str(full, "code"), ==, "room-full");
    }
    g_assert_cmpfloat(metric(*a, "duet_redis_up"), ==, 1);
    g_assert_cmpfloat(metric(*a, "duet_cluster_relayed_remote_total"), >=, 1);
    g_assert_cmpfloat(metric(*b, "duet_cluster_relayed_remote_total"), >=, 1);
    g_assert_cmpfloat(metric(*a, "duet_peers"), ==, 1);

    // Leaving frees the seat for someone on the other instance.
    ana.send(R"({"type":"leave"})");
    std::string left = bob.next("peer-left");
    check_str(json_str(left, "reason"), ==, "left");
    Client cleo(a->ws_url());
    g_assert_false(join(cleo, "kitchen").empty());
}

// Joiners spread over three instances race for a room of two: exactly two get in, every
// round.
void test_join_race_across_instances() {
    RedisServer redis;
    std::vector<std::unique_ptr<ServerProcess>> servers;
    for (int i = 0; i < 3; ++i)
        servers.push_back(instance(redis));
    for (int round = 0; round < 5; ++round) {
        std::vector<std::unique_ptr<Client>> clients;
        for (int i = 0; i < 30; ++i)
            clients.push_back(std::make_unique<Client>(servers[i % 3]->ws_url()));
        g_assert_true(wait_until([&] {
            for (auto &c : clients)
                if (!c->open())
                    return false;
            return true;
        }));
        std::string room = "race-" + std::to_string(round);
        for (auto &c : clients)
            c->send(R"({"type":"join","room":")" + room + "\"}");
        int joined = 0, full = 0;
        g_assert_true(wait_until(
            [&] {
                joined = full = 0;
                for (auto &c : clients)
                    for (const auto &m : c->inbox()) {
                        joined += m.find(R"("type":"joined")") != std::string::npos;
                        full += m.find(R"("code":"room-full")") != std::string::npos;
                    }
                return joined + full == 30;
            },
            10000));
        g_assert_cmpint(joined, ==, 2);
        g_assert_cmpint(full, ==, 28);
        // The first in hears of the second, whichever instances they are on (a peer-joined
        // can reach an instance before its own join reply does: it must not be lost).
        std::string second_id;
        Client *first = nullptr;
        for (auto &c : clients)
            for (const auto &m : c->inbox())
                if (m.find(R"("type":"joined")") != std::string::npos) {
                    if (json_strs(m, "peers").empty()) {
                        first = c.get();
                    } else {
                        second_id = json_str(m, "id");
                    }
                }
        g_assert_nonnull(first);
        std::string heard = first->next("peer-joined");
        check_str(json_str(heard, "id"), ==, second_id);
    }
}

// An instance dies (SIGKILL): within a few seconds the others say its member dropped,
// and that member resumes its seat on another instance with its token.
void test_dead_instance_seats_resume_elsewhere() {
    RedisServer redis;
    auto a = instance(redis), b = instance(redis);
    Client ana(a->ws_url());
    auto bob = std::make_unique<Client>(b->ws_url());
    std::string ja = join(ana, "porch");
    std::string jb = join(*bob, "porch");
    g_assert_false(jb.empty());
    ana.next("peer-joined");
    gint64 t0 = g_get_monotonic_time();
    b->kill_hard();
    g_assert_true(bob->wait_closed());
    std::string dropped = ana.next("peer-left", 10000);
    check_str(json_str(dropped, "reason"), ==, "dropped");
    check_str(json_str(dropped, "id"), ==, json_str(jb, "id"));
    g_test_message("dead instance noticed after %.1f s",
                   double(g_get_monotonic_time() - t0) / 1e6);
    g_assert_cmpfloat(metric(*a, "duet_cluster_members_reaped_total"), ==, 1);
    // The seat is held: a stranger cannot take it.
    Client eve(a->ws_url());
    eve.send(R"({"type":"join","room":"porch"})");
    check_str(json_str(eve.next("error"), "code"), ==, "room-full");
    Client bob2(a->ws_url());
    std::string resumed =
        join(bob2, "porch", R"(,"resume":")" + json_str(jb, "resume") + "\"");
    g_assert_true(json_bool(resumed, "resumed"));
    check_str(json_str(resumed, "id"), ==, json_str(jb, "id"));
    g_assert_true(json_bool(ana.next("peer-joined"), "resumed"));
    // Both on one instance now: signals go straight across.
    ana.send(signal_to(json_str(jb, "id"), R"({"x":1})"));
    check_str(json_str(bob2.next("signal"), "from"), ==, json_str(ja, "id"));
}

// A second socket resuming the seat on another instance replaces the first (4001).
void test_resume_on_another_instance_replaces_socket() {
    RedisServer redis;
    auto a = instance(redis), b = instance(redis);
    Client one(a->ws_url());
    std::string j1 = join(one, "desk");
    Client two(b->ws_url());
    std::string j2 = join(two, "desk", R"(,"resume":")" + json_str(j1, "resume") + "\"");
    g_assert_true(json_bool(j2, "resumed"));
    g_assert_true(one.wait_closed());
    g_assert_cmpint(one.close_code(), ==, 4001);
}

// Redis goes away: joins get `unavailable`, /healthz says so, members on one instance
// keep talking; once Redis is back (empty), the instances write their seats back: the
// room is still full, a signal crosses instances again, and a seat let go meanwhile is
// held for its owner.
void test_redis_restart() {
    RedisServer redis;
    auto a = instance(redis), b = instance(redis);
    Client ana(a->ws_url()), al(a->ws_url()), bob(b->ws_url()), bo(b->ws_url());
    std::string ja = join(ana, "hall");
    std::string jb = join(bob, "hall");
    std::string jal = join(al, "lab");
    std::string jbo = join(bo, "lab");
    ana.next("peer-joined");
    al.next("peer-joined");
    redis.kill_hard();
    g_assert_true(wait_until([&] { return healthz(*a) == 503 && healthz(*b) == 503; }));
    g_assert_cmpfloat(metric(*a, "duet_redis_up"), ==, 0);
    Client late(a->ws_url());
    late.send(R"({"type":"join","room":"other"})");
    std::string refused = late.next("error");
    check_str(json_str(refused, "code"), ==, "unavailable");
    // Across instances: unavailable; on one instance: still relayed.
    ana.send(signal_to(json_str(jb, "id"), "{}"));
    check_str(json_str(ana.next("error"), "code"), ==, "unavailable");
    // bo drops while Redis is away (al, on the other instance, cannot be told yet).
    bo.close();

    redis.start();
    g_assert_true(wait_until([&] { return healthz(*a) == 200 && healthz(*b) == 200; }, 10000));
    bool crossed = wait_until(
        [&] {
            ana.send(signal_to(json_str(jb, "id"), R"({"again":true})"));
            return !bob.next("signal", 300).empty();
        },
        10000);
    g_assert_true(crossed);
    Client eve(b->ws_url());
    eve.send(R"({"type":"join","room":"hall"})");
    check_str(json_str(eve.next("error"), "code"), ==, "room-full");
    // bo's seat was let go while Redis was away: held for bo, not free for a stranger.
    Client mallory(a->ws_url());
    mallory.send(R"({"type":"join","room":"lab"})");
    check_str(json_str(mallory.next("error"), "code"), ==, "room-full");
    Client bo2(a->ws_url());
    std::string back = join(bo2, "lab", R"(,"resume":")" + json_str(jbo, "resume") + "\"");
    g_assert_true(json_bool(back, "resumed"));
}

// Private rooms hold across instances: the key made on one is needed on the other.
void test_private_room_across_instances() {
    RedisServer redis;
    auto a = instance(redis), b = instance(redis);
    Client owner(a->ws_url());
    std::string jo = join(owner, "vault", R"(,"private":true)");
    g_assert_true(json_bool(jo, "private"));
    std::string key = json_str(jo, "key");
    g_assert_cmpuint(key.size(), ==, 32);
    Client nokey(b->ws_url());
    nokey.send(R"({"type":"join","room":"vault"})");
    check_str(json_str(nokey.next("error"), "code"), ==, "private-room");
    Client wrong(b->ws_url());
    wrong.send(R"({"type":"join","room":"vault","key":")" + std::string(32, 'a') + "\"}");
    check_str(json_str(wrong.next("error"), "code"), ==, "private-room");
    Client guest(b->ws_url());
    std::string jg = join(guest, "vault", R"(,"key":")" + key + "\"");
    g_assert_true(json_bool(jg, "private"));
    g_assert_true(json_str(jg, "key").empty()); // only its creator is given the key
    Client open_try(b->ws_url());
    open_try.send(R"({"type":"join","room":"hall2"})");
    open_try.next("joined");
    Client make_private(a->ws_url());
    make_private.send(R"({"type":"join","room":"hall2","private":true})");
    check_str(json_str(make_private.next("error"), "code"), ==, "room-not-private");
}

// "Ask before anyone joins" across instances: the knock on one instance rings on the
// other, an answer there seats (or turns away) the knocker here, and nobody left inside
// turns the waiting away.
void test_lobby_across_instances() {
    RedisServer redis;
    auto a = instance(redis, {"--lobby-timeout", "2"}), b = instance(redis, {"--lobby-timeout", "2"});
    Client host(a->ws_url());
    std::string jh = join(host, "door", R"(,"name":"Host")");
    host.send(R"({"type":"lobby","on":true})");
    g_assert_true(json_bool(host.next("lobby"), "on"));

    Client guest(b->ws_url());
    guest.send(R"({"type":"join","room":"door","name":"Gus"})");
    check_str(json_str(guest.next("waiting"), "room"), ==, "door");
    g_assert_cmpfloat(metric(*b, "duet_lobby_waiting"), ==, 1);
    std::string ask = host.next("admit-request");
    check_str(json_str(ask, "name"), ==, "Gus");
    host.send(R"({"type":"admit","id":")" + json_str(ask, "id") + "\"}");
    check_str(json_str(host.next("admit-resolved"), "outcome"), ==, "admitted");
    std::string jg = guest.next("joined");
    g_assert_true(json_bool(jg, "lobby"));
    auto peers = json_strs(jg, "peers");
    g_assert_cmpuint(peers.size(), ==, 1);
    check_str(peers[0], ==, json_str(jh, "id"));
    check_str(json_str(host.next("peer-joined"), "id"), ==, json_str(jg, "id"));
    // Let in means a real seat: signals cross, and the seat resumes.
    guest.send(signal_to(json_str(jh, "id"), R"({"hi":1})"));
    check_str(json_str(host.next("signal"), "from"), ==, json_str(jg, "id"));

    guest.send(R"({"type":"leave"})");
    host.next("peer-left");
    // Nobody answers: lobby-timeout (--lobby-timeout 2), and the request is settled.
    Client slow(a->ws_url());
    slow.send(R"({"type":"join","room":"door","name":"Sam"})");
    slow.next("waiting");
    host.next("admit-request");
    check_str(json_str(slow.next("error", 6000), "code"), ==, "lobby-timeout");
    check_str(json_str(host.next("admit-resolved"), "outcome"), ==, "timeout");
    // A decline, then its cooldown for that address (every client here is 127.0.0.1).
    Client pest(b->ws_url());
    pest.send(R"({"type":"join","room":"door"})");
    pest.next("waiting");
    std::string ask2 = host.next("admit-request");
    host.send(R"({"type":"decline","id":")" + json_str(ask2, "id") + "\"}");
    check_str(json_str(pest.next("error"), "code"), ==, "declined");
    check_str(json_str(host.next("admit-resolved"), "outcome"), ==, "declined");
    Client pest2(a->ws_url());
    pest2.send(R"({"type":"join","room":"door"})");
    check_str(json_str(pest2.next("error"), "code"), ==, "too-many-attempts");
    // Everyone inside leaves: whoever waits is told at once.
    Client host2(a->ws_url());
    join(host2, "door2");
    host2.send(R"({"type":"lobby","on":true})");
    host2.next("lobby");
    Client last(b->ws_url());
    last.send(R"({"type":"join","room":"door2"})");
    last.next("waiting");
    host2.send(R"({"type":"leave"})");
    check_str(json_str(last.next("error"), "code"), ==, "lobby-timeout");
}

// Without --redis nothing of the cluster shows; a bad URL is a usage error.
void test_flag() {
    ServerProcess plain;
    g_assert_cmpfloat(metric(plain, "duet_redis_up"), ==, -1);
    gchar *out = nullptr, *err = nullptr;
    gint status = 0;
    const char *server = g_getenv("DUET_SERVER");
    g_assert_nonnull(server);
    const char *argv[] = {server, "--redis", "http://nope", nullptr};
    g_assert_true(g_spawn_sync(nullptr, const_cast<char **>(argv), nullptr, G_SPAWN_DEFAULT,
                               nullptr, nullptr, &out, &err, &status, nullptr));
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 2);
    g_assert_nonnull(strstr(err, "--redis"));
    g_free(out);
    g_free(err);
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/cluster/two-instances", test_two_instances_one_room);
    g_test_add_func("/cluster/join-race", test_join_race_across_instances);
    g_test_add_func("/cluster/dead-instance", test_dead_instance_seats_resume_elsewhere);
    g_test_add_func("/cluster/resume-replaces", test_resume_on_another_instance_replaces_socket);
    g_test_add_func("/cluster/redis-restart", test_redis_restart);
    g_test_add_func("/cluster/private-rooms", test_private_room_across_instances);
    g_test_add_func("/cluster/lobby", test_lobby_across_instances);
    g_test_add_func("/cluster/flag", test_flag);
    return g_test_run();
}

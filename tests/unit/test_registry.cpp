// SPDX-License-Identifier: MIT
// Unit tests for the room registry's pure logic: join, full, leave, resume, relay scope.
#include "signaling/registry.h"

#include <glib.h>

#include "tests/check_str.h"

#include <memory>

using namespace duet::signaling;
using namespace duet::proto;
using namespace std::chrono_literals;

namespace {

// Deterministic tokens so failures are readable.
Registry make(std::size_t max_peers = 2, std::chrono::milliseconds grace = 30s) {
    auto counter = std::make_shared<int>(0);
    RegistryConfig c;
    c.max_peers = max_peers;
    c.resume_grace = grace;
    return Registry(c, [counter](std::size_t bytes) {
        return (bytes > 8 ? "tok" : "p") + std::to_string(++*counter);
    });
}

const Clock::time_point t0{};

template <typename T> const T *find(const Effects &fx, ConnId to) {
    for (const auto &s : fx.send)
        if (s.to == to)
            if (auto *m = std::get_if<T>(&s.msg))
                return m;
    return nullptr;
}

Joined join(Registry &r, ConnId c, const char *room, std::optional<std::string> resume = {}) {
    Effects fx;
    r.handle(c, Join{room, std::move(resume)}, t0, fx);
    auto *j = find<Joined>(fx, c);
    g_assert_nonnull(j);
    return *j;
}

ErrorCode join_error(Registry &r, ConnId c, const char *room) {
    Effects fx;
    r.handle(c, Join{room, {}}, t0, fx);
    auto *e = find<Error>(fx, c);
    g_assert_nonnull(e);
    return e->code;
}

void test_join_creates_room_and_newcomer_offers() {
    auto r = make();
    auto a = join(r, 1, "kitchen");
    g_assert_cmpuint(a.peers.size(), ==, 0);
    g_assert_cmpuint(r.room_count(), ==, 1);

    Effects fx;
    r.handle(2, Join{" kitchen ", {}}, t0, fx);
    auto *b = find<Joined>(fx, 2);
    g_assert_nonnull(b);
    check_str(b->room, ==, "kitchen");
    // The newcomer learns who is there, so it is the one that makes the offers.
    g_assert_cmpuint(b->peers.size(), ==, 1);
    check_str(b->peers[0], ==, a.id.c_str());
    auto *pj = find<PeerJoined>(fx, 1);
    g_assert_nonnull(pj);
    check_str(pj->id, ==, b->id.c_str());
    g_assert_false(pj->resumed);
}

void test_full() {
    auto r = make();
    join(r, 1, "r");
    join(r, 2, "r");
    g_assert_true(join_error(r, 3, "r") == ErrorCode::RoomFull);
    g_assert_cmpuint(r.member_count("r"), ==, 2);
    // The refused connection can still pick another room.
    join(r, 3, "other");

    auto big = make(3);
    join(big, 1, "r");
    join(big, 2, "r");
    join(big, 3, "r");
    g_assert_true(join_error(big, 4, "r") == ErrorCode::RoomFull);
}

void test_invalid_and_twice() {
    auto r = make();
    g_assert_true(join_error(r, 1, "   ") == ErrorCode::InvalidRoom);
    g_assert_true(join_error(r, 1, std::string(65, 'x').c_str()) == ErrorCode::InvalidRoom);
    join(r, 1, "a");
    g_assert_true(join_error(r, 1, "b") == ErrorCode::AlreadyJoined);
    g_assert_cmpuint(r.room_count(), ==, 1);
}

void test_leave_frees_seat() {
    auto r = make();
    auto a = join(r, 1, "r");
    join(r, 2, "r");
    Effects fx;
    r.handle(1, Leave{}, t0, fx);
    auto *pl = find<PeerLeft>(fx, 2);
    g_assert_nonnull(pl);
    check_str(pl->id, ==, a.id.c_str());
    g_assert_true(pl->reason == LeaveReason::Left);
    join(r, 3, "r");
    // Leaving twice is an error, not a crash.
    Effects fx2;
    r.handle(1, Leave{}, t0, fx2);
    g_assert_true(find<Error>(fx2, 1)->code == ErrorCode::NotJoined);
    // The last one out removes the room.
    Effects fx3;
    r.handle(2, Leave{}, t0, fx3);
    r.handle(3, Leave{}, t0, fx3);
    g_assert_cmpuint(r.room_count(), ==, 0);
}

void test_relay_only_within_room() {
    auto r = make();
    auto a = join(r, 1, "one");
    auto b = join(r, 2, "one");
    auto c = join(r, 3, "two");
    Effects fx;
    r.handle(1, Signal{b.id, R"({"x":1})"}, t0, fx);
    auto *rel = find<Relayed>(fx, 2);
    g_assert_nonnull(rel);
    check_str(rel->from, ==, a.id.c_str());
    check_str(rel->data_json, ==, R"({"x":1})");

    Effects cross;
    r.handle(1, Signal{c.id, "{}"}, t0, cross);
    g_assert_null(find<Relayed>(cross, 3));
    g_assert_true(find<Error>(cross, 1)->code == ErrorCode::UnknownPeer);

    Effects self;
    r.handle(1, Signal{a.id, "{}"}, t0, self);
    g_assert_true(find<Error>(self, 1)->code == ErrorCode::UnknownPeer);

    Effects early;
    r.handle(9, Signal{a.id, "{}"}, t0, early);
    g_assert_true(find<Error>(early, 9)->code == ErrorCode::NotJoined);
    g_assert_cmpuint(early.send.size(), ==, 1);
}

void test_drop_and_resume() {
    auto r = make();
    auto a = join(r, 1, "r");
    auto b = join(r, 2, "r");
    Effects fx;
    r.disconnected(2, t0, fx);
    auto *pl = find<PeerLeft>(fx, 1);
    g_assert_true(pl && pl->reason == LeaveReason::Dropped);
    // The held seat still counts: a stranger cannot take it.
    g_assert_true(join_error(r, 3, "r") == ErrorCode::RoomFull);

    Effects back;
    r.handle(4, Join{"r", b.resume}, t0 + 5s, back);
    auto *j = find<Joined>(back, 4);
    g_assert_nonnull(j);
    g_assert_true(j->resumed);
    check_str(j->id, ==, b.id.c_str());
    g_assert_cmpuint(j->peers.size(), ==, 1);
    auto *pj = find<PeerJoined>(back, 1);
    g_assert_true(pj && pj->resumed);
    // Relay reaches the new connection.
    Effects rel;
    r.handle(1, Signal{b.id, "{}"}, t0, rel);
    g_assert_nonnull(find<Relayed>(rel, 4));
    (void)a;
}

void test_resume_evicts_stale_connection() {
    auto r = make();
    join(r, 1, "r");
    auto b = join(r, 2, "r");
    // Connection 2 is half-open: the server has not noticed, but the client came back.
    Effects fx;
    r.handle(5, Join{"r", b.resume}, t0, fx);
    g_assert_true(find<Joined>(fx, 5)->resumed);
    g_assert_cmpuint(fx.close.size(), ==, 1);
    g_assert_cmpuint(fx.close[0], ==, 2);
    // When the stale socket's close arrives later it must not drop the live seat.
    Effects late;
    r.disconnected(2, t0, late);
    g_assert_cmpuint(late.send.size(), ==, 0);
    g_assert_cmpuint(r.member_count("r"), ==, 2);
}

void test_resume_token_rules() {
    auto r = make();
    auto a = join(r, 1, "r");
    Effects fx;
    r.disconnected(1, t0, fx);
    // A token for another room does not move the seat; it is an ordinary join there.
    auto other = join(r, 2, "elsewhere", a.resume);
    g_assert_false(other.resumed);
    check_str(other.id, !=, a.id.c_str());
    // An unknown token is an ordinary join.
    auto fresh = join(r, 3, "r", std::string("bogus"));
    g_assert_false(fresh.resumed);
}

void test_expire() {
    auto r = make(2, 10s);
    join(r, 1, "r");
    auto b = join(r, 2, "r");
    Effects fx;
    r.disconnected(2, t0, fx);
    Effects early;
    auto next = r.expire(t0 + 9s, early);
    g_assert_cmpuint(early.send.size(), ==, 0);
    g_assert_true(next == t0 + 10s);
    Effects due;
    r.expire(t0 + 10s, due);
    auto *pl = find<PeerLeft>(due, 1);
    g_assert_true(pl && pl->reason == LeaveReason::Expired);
    g_assert_cmpuint(r.member_count("r"), ==, 1);
    // The expired token no longer resumes.
    auto again = join(r, 3, "r", b.resume);
    g_assert_false(again.resumed);
}

void test_held_seats_not_listed_as_peers() {
    auto r = make(3);
    join(r, 1, "r");
    join(r, 2, "r");
    Effects fx;
    r.disconnected(2, t0, fx);
    // The newcomer is not told to offer to someone who is away.
    auto c = join(r, 3, "r");
    g_assert_cmpuint(c.peers.size(), ==, 1);
}

void test_zero_grace_means_leave() {
    auto r = make(2, 0s);
    join(r, 1, "r");
    join(r, 2, "r");
    Effects fx;
    r.disconnected(2, t0, fx);
    g_assert_true(find<PeerLeft>(fx, 1)->reason == LeaveReason::Left);
    g_assert_cmpuint(r.member_count("r"), ==, 1);
}

void test_many_rooms() {
    auto r = make();
    for (ConnId c = 1; c <= 200; ++c)
        join(r, c, ("room-" + std::to_string((c + 1) / 2)).c_str());
    g_assert_cmpuint(r.room_count(), ==, 100);
    g_assert_cmpuint(r.connection_count(), ==, 200);
    g_assert_true(join_error(r, 999, "room-50") == ErrorCode::RoomFull);
}


// ---- private rooms ----

// A join carrying the private flag and/or a key; the joiner's reply, whatever it is.
const ServerMessage *private_join(Registry &r, Effects &fx, ConnId c, const char *room,
                                  bool make_private, std::optional<std::string> key,
                                  std::string_view source = "10.0.0.1",
                                  Clock::time_point now = t0) {
    Join j{room, {}};
    j.make_private = make_private;
    j.key = std::move(key);
    r.handle(c, j, now, fx, source);
    for (const auto &s : fx.send)
        if (s.to == c)
            return &s.msg;
    return nullptr;
}

ErrorCode refused(const ServerMessage *m) {
    g_assert_nonnull(m);
    auto *e = std::get_if<Error>(m);
    g_assert_nonnull(e);
    return e->code;
}

void test_private_room_needs_its_key() {
    auto r = make(3);
    Effects fx;
    auto *created = std::get_if<Joined>(private_join(r, fx, 1, "grandma", true, {}));
    g_assert_nonnull(created);
    g_assert_true(created->is_private);
    std::string key = created->key;
    g_assert_false(key.empty());
    g_assert_cmpuint(r.private_room_count(), ==, 1);

    Effects none, wrong, right;
    g_assert_true(refused(private_join(r, none, 2, "grandma", false, {})) == ErrorCode::PrivateRoom);
    g_assert_true(refused(private_join(r, wrong, 2, "grandma", false, key + "x")) ==
                  ErrorCode::PrivateRoom);
    // Nothing about the room reaches its members while strangers knock.
    g_assert_null(find<PeerJoined>(none, 1));
    g_assert_null(find<PeerJoined>(wrong, 1));
    g_assert_cmpuint(r.key_failures_total(), ==, 1); // no key at all is not a guess
    auto *in = std::get_if<Joined>(private_join(r, right, 2, "grandma", false, key));
    g_assert_nonnull(in);
    g_assert_true(in->is_private);
    g_assert_true(in->key.empty()); // only the creator is handed the key
    g_assert_nonnull(find<PeerJoined>(right, 1));
}

void test_private_room_refusal_says_nothing_of_fullness() {
    auto r = make(1);
    Effects fx;
    auto key = std::get<Joined>(*private_join(r, fx, 1, "p", true, {})).key;
    Effects wrong, right;
    // Full, but a stranger is told only that the room is private.
    g_assert_true(refused(private_join(r, wrong, 2, "p", false, std::string(32, 'a'))) ==
                  ErrorCode::PrivateRoom);
    g_assert_true(refused(private_join(r, right, 2, "p", false, key)) == ErrorCode::RoomFull);
}

void test_private_flag_on_existing_rooms() {
    auto r = make(3);
    join(r, 1, "open");
    Effects fx;
    // Asking for privacy where strangers are already welcome is refused, not ignored.
    g_assert_true(refused(private_join(r, fx, 2, "open", true, {})) == ErrorCode::RoomNotPrivate);
    g_assert_cmpuint(r.member_count("open"), ==, 1);

    // A creator's own key (a kiosk's key file) is the room's key; the same flag and key
    // later simply enter.
    std::string own(40, 'k');
    Effects a, b;
    auto *created = std::get_if<Joined>(private_join(r, a, 3, "kiosk", true, own));
    g_assert_nonnull(created);
    check_str(created->key, ==, own.c_str());
    g_assert_nonnull(std::get_if<Joined>(private_join(r, b, 4, "kiosk", true, own)));
}

void test_private_key_lives_with_the_room() {
    auto r = make(2, 30s);
    Effects fx;
    auto *created = std::get_if<Joined>(private_join(r, fx, 1, "room", true, {}));
    std::string key = created->key, token = created->resume;
    Effects drop;
    r.disconnected(1, t0, drop);
    // The held seat keeps the room, and so its key: strangers are still refused...
    Effects stranger;
    g_assert_true(refused(private_join(r, stranger, 2, "room", false, {})) ==
                  ErrorCode::PrivateRoom);
    // ...while the token alone takes the seat back.
    auto back = join(r, 3, "room", token);
    g_assert_true(back.resumed);
    g_assert_true(back.is_private);
    // Once everyone has gone, the name is free and a new room with it is open.
    Effects leave;
    r.handle(3, Leave{}, t0, leave);
    g_assert_cmpuint(r.room_count(), ==, 0);
    g_assert_cmpuint(r.private_room_count(), ==, 0);
    auto open = join(r, 4, "room");
    g_assert_false(open.is_private);
    g_assert_true(open.key.empty());
}

void test_wrong_keys_are_rate_limited_per_source() {
    RegistryConfig c;
    c.max_peers = 8;
    c.key_burst = 3;
    c.key_refill = 10s;
    Registry r(c);
    Effects fx;
    auto key = std::get<Joined>(*private_join(r, fx, 1, "vault", true, {})).key;
    std::string guess(32, 'g');
    for (ConnId conn = 10; conn < 13; ++conn) {
        Effects e;
        g_assert_true(refused(private_join(r, e, conn, "vault", false, guess, "192.0.2.7")) ==
                      ErrorCode::PrivateRoom);
    }
    // Over the limit, even the right key is not looked at.
    Effects over;
    g_assert_true(refused(private_join(r, over, 20, "vault", false, key, "192.0.2.7")) ==
                  ErrorCode::TooManyAttempts);
    g_assert_cmpuint(r.key_failures_total(), ==, 3);
    g_assert_cmpuint(r.key_attempts_refused_total(), ==, 1);
    // Another address is not held back.
    Effects other;
    g_assert_nonnull(
        std::get_if<Joined>(private_join(r, other, 21, "vault", false, key, "198.51.100.1")));
    // Open rooms are not affected at all.
    Effects open;
    g_assert_nonnull(std::get_if<Joined>(private_join(r, open, 22, "lobby", false, {}, "192.0.2.7")));
    // One refill later, one more attempt counts.
    Effects later;
    g_assert_nonnull(std::get_if<Joined>(
        private_join(r, later, 23, "vault", false, key, "192.0.2.7", t0 + 10s)));
}

void test_attempt_limiter_bounds_its_memory() {
    AttemptLimiter l(2, 1s, 2);
    l.failed("a", t0);
    l.failed("b", t0);
    l.failed("c", t0); // full, and nobody is quiet yet: not tracked, but counted
    g_assert_cmpuint(l.sources(), ==, 2);
    g_assert_cmpuint(l.untracked(), ==, 1);
    g_assert_cmpint(l.wait("c", t0).count(), ==, 0);
    l.failed("a", t0);
    g_assert_cmpint(l.wait("a", t0).count(), ==, 1000);
    g_assert_cmpint(l.wait("a", t0 + 400ms).count(), ==, 600);
    // "b" is quiet again after one refill and is forgotten; "a" is not yet.
    l.prune(t0 + 1s);
    g_assert_cmpuint(l.sources(), ==, 1);
    g_assert_cmpint(l.wait("a", t0 + 2s).count(), ==, 0);
}

// ---- ask before anyone joins (the lobby) ----

template <typename T> std::vector<const T *> all(const Effects &fx, ConnId to) {
    std::vector<const T *> out;
    for (const auto &s : fx.send)
        if (s.to == to)
            if (auto *m = std::get_if<T>(&s.msg))
                out.push_back(m);
    return out;
}

Registry make_lobby(std::size_t max_peers = 3) {
    RegistryConfig c;
    c.max_peers = max_peers;
    c.lobby_timeout = 60s;
    c.decline_cooldown = 30s;
    return Registry(c);
}

// A knock by `conn` from `source`; its effects.
Effects knock(Registry &r, ConnId conn, const char *room, const char *name = "Ana",
              std::string_view source = "10.0.0.9", Clock::time_point now = t0) {
    Effects fx;
    Join j{room, {}};
    j.name = name;
    r.handle(conn, j, now, fx, source);
    return fx;
}

std::string lobby_on(Registry &r, ConnId member) {
    Effects fx;
    r.handle(member, SetLobby{true}, t0, fx);
    g_assert_nonnull(find<LobbyState>(fx, member));
    g_assert_true(find<LobbyState>(fx, member)->on);
    return {};
}

Joined join_named(Registry &r, ConnId c, const char *room, std::optional<std::string> name,
                  std::optional<std::string> resume = {}, Effects *out = nullptr) {
    Effects fx;
    Join j{room, std::move(resume)};
    j.name = std::move(name);
    r.handle(c, j, t0, fx);
    auto *joined = find<Joined>(fx, c);
    g_assert_nonnull(joined);
    Joined copy = *joined;
    if (out)
        *out = std::move(fx);
    return copy;
}

// Display names travel with the seat: to those already in the room in `peer-joined`, to the
// newcomer in `joined.names` (only for members that gave one), kept or replaced on resume.
void test_display_names() {
    auto r = make(4);
    auto ana = join_named(r, 1, "r", "Ana");
    g_assert_true(ana.names.empty());
    Effects fx;
    auto anon = join_named(r, 2, "r", std::nullopt, {}, &fx);
    g_assert_cmpuint(anon.names.size(), ==, 1);
    check_str(anon.names[0].first, ==, ana.id.c_str());
    check_str(anon.names[0].second, ==, "Ana");
    // Without a name, peer-joined carries none.
    check_str(find<PeerJoined>(fx, 1)->name, ==, "");

    Effects fx3;
    auto bo = join_named(r, 3, "r", "Bo", {}, &fx3);
    g_assert_cmpuint(bo.peers.size(), ==, 2);
    g_assert_cmpuint(bo.names.size(), ==, 1); // the nameless member is absent
    check_str(find<PeerJoined>(fx3, 1)->name, ==, "Bo");
    check_str(find<PeerJoined>(fx3, 2)->name, ==, "Bo");

    // Bo drops; back without a name keeps "Bo", back with one takes the new name.
    Effects drop;
    r.disconnected(3, t0, drop);
    Effects back;
    join_named(r, 4, "r", std::nullopt, bo.resume, &back);
    check_str(find<PeerJoined>(back, 1)->name, ==, "Bo");
    r.disconnected(4, t0, drop);
    Effects renamed;
    join_named(r, 5, "r", "Boris", bo.resume, &renamed);
    check_str(find<PeerJoined>(renamed, 2)->name, ==, "Boris");
    auto late = join_named(r, 6, "r", std::nullopt);
    g_assert_cmpuint(late.names.size(), ==, 2);
    for (const auto &[id, name] : late.names)
        g_assert_true((id == ana.id && name == "Ana") || (id == bo.id && name == "Boris"));
}

void test_lobby_admit() {
    auto r = make_lobby();
    join(r, 1, "home");
    lobby_on(r, 1);
    Effects fx = knock(r, 2, "home");
    // The newcomer waits and learns nothing else; the member is asked, with the name.
    g_assert_true(r.is_waiting(2));
    g_assert_cmpuint(r.member_count("home"), ==, 1);
    for (const auto &s : fx.send)
        if (s.to == 2)
            g_assert_true(std::holds_alternative<Waiting>(s.msg));
    auto *ask = find<AdmitRequest>(fx, 1);
    g_assert_nonnull(ask);
    check_str(ask->name, ==, "Ana");

    Effects admit;
    r.handle(1, Admit{ask->id}, t0, admit);
    auto *in = find<Joined>(admit, 2);
    g_assert_nonnull(in);
    g_assert_true(in->lobby);
    g_assert_cmpuint(in->peers.size(), ==, 1);
    g_assert_nonnull(find<PeerJoined>(admit, 1));
    // Whoever is let in keeps the name they knocked with.
    check_str(find<PeerJoined>(admit, 1)->name, ==, "Ana");
    auto *done = find<AdmitResolved>(admit, 1);
    g_assert_true(done && done->outcome == AdmitOutcome::Admitted);
    g_assert_false(r.is_waiting(2));
    // Someone else answering the same request later finds nobody.
    Effects late;
    r.handle(1, Admit{ask->id}, t0, late);
    g_assert_true(find<Error>(late, 1)->code == ErrorCode::UnknownPeer);
}

void test_lobby_decline_then_cooldown() {
    auto r = make_lobby();
    join(r, 1, "home");
    lobby_on(r, 1);
    auto id = find<AdmitRequest>(knock(r, 2, "home"), 1)->id;
    Effects no;
    r.handle(1, Decline{id}, t0, no);
    g_assert_true(find<Error>(no, 2)->code == ErrorCode::Declined);
    g_assert_true(find<AdmitResolved>(no, 1)->outcome == AdmitOutcome::Declined);
    g_assert_false(r.is_waiting(2));
    // The same address cannot ring again at once; another can; later the first can too.
    Effects again = knock(r, 2, "home");
    g_assert_true(find<Error>(again, 2)->code == ErrorCode::TooManyAttempts);
    g_assert_null(find<AdmitRequest>(again, 1));
    g_assert_nonnull(find<Waiting>(knock(r, 3, "home", "Bo", "10.0.0.10"), 3));
    g_assert_nonnull(find<Waiting>(knock(r, 2, "home", "Ana", "10.0.0.9", t0 + 30s), 2));
}

void test_lobby_timeout_and_leaving() {
    auto r = make_lobby();
    join(r, 1, "home");
    lobby_on(r, 1);
    knock(r, 2, "home");
    knock(r, 3, "home", "Cy", "10.0.0.3");
    Effects early;
    auto next = r.expire(t0 + 59s, early);
    g_assert_true(next == t0 + 60s);
    g_assert_null(find<Error>(early, 2));
    Effects late;
    r.expire(t0 + 60s, late);
    g_assert_true(find<Error>(late, 2)->code == ErrorCode::LobbyTimeout);
    g_assert_cmpuint(all<AdmitResolved>(late, 1).size(), ==, 2);
    g_assert_true(all<AdmitResolved>(late, 1)[0]->outcome == AdmitOutcome::TimedOut);
    g_assert_false(r.is_waiting(2));

    // Giving up: a closed socket or a leave takes the request away.
    knock(r, 4, "home", "Di", "10.0.0.4", t0 + 61s);
    knock(r, 5, "home", "Ed", "10.0.0.5", t0 + 61s);
    Effects gone, left;
    r.disconnected(4, t0 + 62s, gone);
    g_assert_true(find<AdmitResolved>(gone, 1)->outcome == AdmitOutcome::Left);
    r.handle(5, Leave{}, t0 + 62s, left);
    g_assert_true(find<AdmitResolved>(left, 1)->outcome == AdmitOutcome::Left);
    g_assert_cmpuint(r.waiting_count(), ==, 0);

    // Everyone inside leaves: whoever waits is told at once.
    knock(r, 6, "home", "Fi", "10.0.0.6", t0 + 63s);
    Effects bye;
    r.handle(1, Leave{}, t0 + 63s, bye);
    g_assert_true(find<Error>(bye, 6)->code == ErrorCode::LobbyTimeout);
    g_assert_cmpuint(r.room_count(), ==, 0);
    g_assert_false(r.is_waiting(6));
}

void test_lobby_resume_and_keys_skip_it() {
    auto r = make_lobby();
    auto a = join(r, 1, "home");
    auto b = join(r, 2, "home");
    lobby_on(r, 1);
    Effects drop;
    r.disconnected(2, t0, drop);
    // A seat's token comes straight back in.
    auto back = join(r, 3, "home", b.resume);
    g_assert_true(back.resumed);

    // A private room with a lobby: the link's holders come in, others may ask, a wrong
    // key is still refused.
    Effects fx;
    auto key = std::get<Joined>(*private_join(r, fx, 10, "kiosk", true, {})).key;
    lobby_on(r, 10);
    Effects with_key;
    g_assert_nonnull(std::get_if<Joined>(private_join(r, with_key, 11, "kiosk", false, key)));
    Effects without = knock(r, 12, "kiosk");
    g_assert_nonnull(find<Waiting>(without, 12));
    g_assert_nonnull(find<AdmitRequest>(without, 10));
    Effects wrong;
    g_assert_true(refused(private_join(r, wrong, 13, "kiosk", false, std::string(32, 'w'))) ==
                  ErrorCode::PrivateRoom);
    (void)a;
}

void test_lobby_off_lets_everyone_in_and_full_rooms() {
    auto r = make_lobby(2);
    join(r, 1, "home");
    lobby_on(r, 1);
    auto id = find<AdmitRequest>(knock(r, 2, "home"), 1)->id;
    knock(r, 3, "home", "Cy", "10.0.0.3");
    // Off: the first waiting person comes in; the room is then full for the second.
    Effects off;
    r.handle(1, SetLobby{false}, t0, off);
    g_assert_false(find<LobbyState>(off, 1)->on);
    g_assert_nonnull(find<Joined>(off, 2));
    g_assert_true(find<Error>(off, 3)->code == ErrorCode::RoomFull);
    g_assert_cmpuint(r.waiting_count(), ==, 0);
    (void)id;

    // A member cannot let someone into a full room: the request stays.
    lobby_on(r, 1);
    auto later = find<AdmitRequest>(knock(r, 4, "home", "Di", "10.0.0.4"), 1)->id;
    Effects full;
    r.handle(1, Admit{later}, t0, full);
    g_assert_true(find<Error>(full, 1)->code == ErrorCode::RoomFull);
    g_assert_true(r.is_waiting(4));
    // Only members may answer or switch the lobby.
    Effects stranger;
    r.handle(99, Admit{later}, t0, stranger);
    r.handle(99, SetLobby{false}, t0, stranger);
    g_assert_cmpuint(all<Error>(stranger, 99).size(), ==, 2);
    g_assert_true(r.is_waiting(4));
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/registry/join-creates-room-newcomer-offers",
                    test_join_creates_room_and_newcomer_offers);
    g_test_add_func("/registry/full", test_full);
    g_test_add_func("/registry/invalid-and-twice", test_invalid_and_twice);
    g_test_add_func("/registry/leave", test_leave_frees_seat);
    g_test_add_func("/registry/relay-within-room", test_relay_only_within_room);
    g_test_add_func("/registry/drop-and-resume", test_drop_and_resume);
    g_test_add_func("/registry/resume-evicts-stale", test_resume_evicts_stale_connection);
    g_test_add_func("/registry/resume-token-rules", test_resume_token_rules);
    g_test_add_func("/registry/expire", test_expire);
    g_test_add_func("/registry/zero-grace", test_zero_grace_means_leave);
    g_test_add_func("/registry/held-seats-not-listed", test_held_seats_not_listed_as_peers);
    g_test_add_func("/registry/many-rooms", test_many_rooms);
    g_test_add_func("/registry/private-needs-key", test_private_room_needs_its_key);
    g_test_add_func("/registry/private-hides-fullness",
                    test_private_room_refusal_says_nothing_of_fullness);
    g_test_add_func("/registry/private-flag-existing", test_private_flag_on_existing_rooms);
    g_test_add_func("/registry/private-key-lives-with-room", test_private_key_lives_with_the_room);
    g_test_add_func("/registry/private-rate-limited", test_wrong_keys_are_rate_limited_per_source);
    g_test_add_func("/registry/attempt-limiter-memory", test_attempt_limiter_bounds_its_memory);
    g_test_add_func("/registry/display-names", test_display_names);
    g_test_add_func("/registry/lobby-admit", test_lobby_admit);
    g_test_add_func("/registry/lobby-decline-cooldown", test_lobby_decline_then_cooldown);
    g_test_add_func("/registry/lobby-timeout-and-leaving", test_lobby_timeout_and_leaving);
    g_test_add_func("/registry/lobby-resume-and-keys", test_lobby_resume_and_keys_skip_it);
    g_test_add_func("/registry/lobby-off-and-full", test_lobby_off_lets_everyone_in_and_full_rooms);
    return g_test_run();
}

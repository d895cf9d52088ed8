// SPDX-License-Identifier: MIT
// Room registry: join, full, leave, drop-and-resume, relaying only within a room.
#include "registry.h"

#include <glib.h>

#include <algorithm>
#include <sys/random.h>

namespace duet::signaling {

std::string random_hex(std::size_t bytes) {
    std::vector<unsigned char> buf(bytes);
    std::size_t got = 0;
    while (got < bytes) {
        ssize_t n = getrandom(buf.data() + got, bytes - got, 0);
        if (n > 0)
            got += std::size_t(n);
    }
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes * 2);
    for (unsigned char b : buf) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

namespace {

Registry::KeyHash hash_key(std::string_view key) {
    Registry::KeyHash out{};
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(sum, reinterpret_cast<const guchar *>(key.data()), gssize(key.size()));
    gsize len = out.size();
    g_checksum_get_digest(sum, out.data(), &len);
    g_checksum_free(sum);
    return out;
}

// Every byte is looked at whatever the first difference, so the time taken says nothing
// about how much of a guess was right.
bool same_hash(const Registry::KeyHash &a, const Registry::KeyHash &b) {
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

} // namespace

std::string seconds_to_wait(std::chrono::milliseconds wait) {
    return std::to_string((wait.count() + 999) / 1000);
}

std::string room_full_message(const std::string &room, std::size_t max_peers) {
    return "room '" + room + "' is full (" + std::to_string(max_peers) +
           (max_peers == 1 ? " person)" : " people)");
}

Registry::Registry(RegistryConfig config, TokenSource tokens)
    : config_(std::move(config)), tokens_(tokens ? std::move(tokens) : TokenSource(random_hex)),
      key_attempts_(config_.key_burst, config_.key_refill, config_.key_sources),
      knocks_(1, config_.decline_cooldown, config_.key_sources) {}

std::size_t Registry::member_count(const std::string &room) const {
    auto it = rooms_.find(room);
    return it == rooms_.end() ? 0 : it->second.ids.size();
}

std::size_t Registry::private_room_count() const {
    std::size_t n = 0;
    for (const auto &[name, room] : rooms_)
        n += room.key.has_value();
    return n;
}

void Registry::error(ConnId conn, proto::ErrorCode code, std::string text, Effects &fx) {
    fx.send.push_back({conn, proto::Error{code, std::move(text)}});
}

void Registry::handle(ConnId conn, const proto::ClientMessage &msg, Clock::time_point now,
                      Effects &fx, std::string_view source) {
    if (auto *j = std::get_if<proto::Join>(&msg))
        join(conn, *j, now, fx, source);
    else if (auto *s = std::get_if<proto::Signal>(&msg))
        signal(conn, *s, fx);
    else if (auto *l = std::get_if<proto::SetLobby>(&msg))
        set_lobby(conn, l->on, fx);
    else if (auto *a = std::get_if<proto::Admit>(&msg))
        answer(conn, a->id, true, now, fx);
    else if (auto *d = std::get_if<proto::Decline>(&msg))
        answer(conn, d->id, false, now, fx);
    else if (settle_waiter(conn, proto::AdmitOutcome::Left, fx)) {
        // Left the lobby: the members' request went away.
    } else {
        auto it = by_conn_.find(conn);
        if (it == by_conn_.end())
            return error(conn, proto::ErrorCode::NotJoined, "not in a room", fx);
        remove(std::string(it->second), proto::LeaveReason::Left, fx);
    }
}

std::string Registry::fresh_id() {
    for (;;) {
        // 6 bytes: short enough to read in logs, and ids are not secrets (tokens are).
        std::string id = tokens_(6);
        if (!members_.count(id))
            return id;
    }
}

void Registry::seat(Member &m, ConnId conn, bool resumed, Effects &fx,
                    const std::string &new_key) {
    m.conn = conn;
    by_conn_[conn] = m.id;
    proto::Joined joined;
    joined.id = m.id;
    joined.room = m.room;
    joined.resume = m.token;
    joined.resumed = resumed;
    joined.ice_servers_json =
        config_.ice_servers ? config_.ice_servers(m.id) : config_.ice_servers_json;
    const Room &room = rooms_[m.room];
    joined.is_private = room.key.has_value();
    joined.lobby = room.lobby;
    joined.key = new_key;
    for (const auto &other : room.ids) {
        if (other == m.id)
            continue;
        const Member &o = members_.at(other);
        // Only connected members are listed: an offer to a held seat could not be relayed,
        // and the person returning to it offers to everyone anyway.
        if (!o.conn)
            continue;
        joined.peers.push_back(other);
        if (!o.name.empty())
            joined.names.emplace_back(other, o.name);
        fx.send.push_back({o.conn, proto::PeerJoined{m.id, resumed, m.name}});
    }
    fx.send.push_back({conn, std::move(joined)});
    // Whoever is at the door is asked about again after a reconnection (after `joined`, so
    // the client knows its room first).
    for (const Knock &k : room.waiting)
        fx.send.push_back({conn, proto::AdmitRequest{k.id, k.name}});
}

void Registry::join(ConnId conn, const proto::Join &j, Clock::time_point now, Effects &fx,
                    std::string_view source) {
    if (by_conn_.count(conn))
        return error(conn, proto::ErrorCode::AlreadyJoined, "already in a room; leave first", fx);
    if (waiting_.count(conn))
        return error(conn, proto::ErrorCode::AlreadyJoined,
                     "already waiting to be let in; leave first", fx);
    auto room = proto::normalize_room(j.room);
    if (!room)
        return error(conn, proto::ErrorCode::InvalidRoom, room.message(), fx);

    // A valid token is proof of a seat: it reclaims it without the key (or the lobby).
    if (j.resume) {
        auto t = by_token_.find(*j.resume);
        if (t != by_token_.end()) {
            Member &m = members_.at(t->second);
            if (m.room == *room) {
                if (m.conn) {
                    // The old socket is still open (half-open TCP, or a second tab with
                    // the same token): the newest connection wins the seat.
                    by_conn_.erase(m.conn);
                    fx.close.push_back(m.conn);
                }
                // Coming back with a name changes it; without one keeps the old.
                if (j.name)
                    m.name = *j.name;
                return seat(m, conn, true, fx);
            }
        }
    }

    auto existing = rooms_.find(*room);
    std::string new_key; // a fresh private room's key, for its creator
    if (existing != rooms_.end()) {
        Room &r = existing->second;
        // With a lobby, newcomers ask; in a private room, the key's holders come straight
        // in and only those without one may ask (a wrong key is still refused).
        bool asks = r.lobby && !j.make_private && (!r.key || !j.key);
        if (asks)
            return knock(conn, *room, r, j, now, fx, source);
        if (!admit(conn, r, j, now, fx, source))
            return;
    } else if (j.make_private) {
        new_key = j.key ? *j.key : tokens_(16);
    }
    enter(conn, *room, j.name.value_or(""), new_key, fx);
}

void Registry::enter(ConnId conn, const std::string &name, const std::string &display,
                     const std::string &new_key, Effects &fx) {
    Room &r = rooms_[name];
    if (!new_key.empty())
        r.key = hash_key(new_key);
    if (r.ids.size() >= config_.max_peers) {
        return error(conn, proto::ErrorCode::RoomFull, room_full_message(name, config_.max_peers),
                     fx);
    }
    Member m;
    m.id = fresh_id();
    m.room = name;
    m.name = display;
    m.token = tokens_(16);
    r.ids.push_back(m.id);
    by_token_[m.token] = m.id;
    auto [it, inserted] = members_.emplace(m.id, std::move(m));
    (void)inserted;
    seat(it->second, conn, false, fx, new_key);
}

void Registry::tell_members(const Room &room, const proto::ServerMessage &msg,
                            Effects &fx) const {
    for (const auto &id : room.ids)
        if (ConnId c = members_.at(id).conn)
            fx.send.push_back({c, msg});
}

void Registry::knock(ConnId conn, const std::string &name, Room &room, const proto::Join &j,
                     Clock::time_point now, Effects &fx, std::string_view source) {
    std::string door = std::string(source) + '\n' + name;
    if (auto wait = knocks_.wait(door, now); wait.count() > 0)
        return error(conn, proto::ErrorCode::TooManyAttempts,
                     "you were turned away a moment ago: try again in " +
                         seconds_to_wait(wait) + " s",
                     fx);
    if (room.waiting.size() >= config_.max_waiting)
        return error(conn, proto::ErrorCode::RoomFull,
                     "too many people are already waiting to join room '" + name + "'", fx);
    Knock k;
    k.id = fresh_id();
    k.conn = conn;
    k.name = j.name.value_or("");
    k.source = std::string(source);
    k.deadline = now + config_.lobby_timeout;
    waiting_[conn] = name;
    // The newcomer learns only that it waits: nothing about who is inside.
    fx.send.push_back({conn, proto::Waiting{name}});
    tell_members(room, proto::AdmitRequest{k.id, k.name}, fx);
    room.waiting.push_back(std::move(k));
}

std::pair<Registry::Room *, std::size_t> Registry::knock_of(ConnId conn) {
    auto w = waiting_.find(conn);
    if (w == waiting_.end())
        return {nullptr, 0};
    Room &room = rooms_.at(w->second);
    for (std::size_t i = 0; i < room.waiting.size(); ++i)
        if (room.waiting[i].conn == conn)
            return {&room, i};
    return {nullptr, 0};
}

bool Registry::settle_waiter(ConnId conn, proto::AdmitOutcome outcome, Effects &fx) {
    auto [room, index] = knock_of(conn);
    if (!room)
        return false;
    settle(*room, index, outcome, fx);
    return true;
}

Registry::Knock Registry::settle(Room &room, std::size_t index, proto::AdmitOutcome outcome,
                                 Effects &fx) {
    Knock k = std::move(room.waiting[index]);
    room.waiting.erase(room.waiting.begin() + std::ptrdiff_t(index));
    waiting_.erase(k.conn);
    tell_members(room, proto::AdmitResolved{k.id, outcome}, fx);
    return k;
}

void Registry::set_lobby(ConnId conn, bool on, Effects &fx) {
    auto it = by_conn_.find(conn);
    if (it == by_conn_.end())
        return error(conn, proto::ErrorCode::NotJoined, "join a room first", fx);
    std::string name = members_.at(it->second).room;
    Room &room = rooms_.at(name);
    room.lobby = on;
    tell_members(room, proto::LobbyState{on}, fx);
    // Nobody has to ask any more: whoever was waiting comes in, as far as there is room.
    while (!on && !room.waiting.empty()) {
        bool fits = room.ids.size() < config_.max_peers;
        Knock k =
            settle(room, 0, fits ? proto::AdmitOutcome::Admitted : proto::AdmitOutcome::Left, fx);
        enter(k.conn, name, k.name, "", fx); // room-full for those who do not fit
    }
}

void Registry::answer(ConnId conn, const std::string &id, bool let_in, Clock::time_point now,
                      Effects &fx) {
    auto it = by_conn_.find(conn);
    if (it == by_conn_.end())
        return error(conn, proto::ErrorCode::NotJoined, "join a room first", fx);
    std::string name = members_.at(it->second).room;
    Room &room = rooms_.at(name);
    for (std::size_t i = 0; i < room.waiting.size(); ++i) {
        if (room.waiting[i].id != id)
            continue;
        if (let_in && room.ids.size() >= config_.max_peers)
            return error(conn, proto::ErrorCode::RoomFull,
                         "the room is full: nobody more can come in", fx);
        if (let_in) {
            Knock k = settle(room, i, proto::AdmitOutcome::Admitted, fx);
            return enter(k.conn, name, k.name, "", fx);
        }
        Knock k = settle(room, i, proto::AdmitOutcome::Declined, fx);
        knocks_.failed(k.source + '\n' + name, now);
        return error(k.conn, proto::ErrorCode::Declined,
                     "Someone in the room declined to let you in. You may try again later.", fx);
    }
    // Someone else answered first, or they gave up: nothing to do.
    error(conn, proto::ErrorCode::UnknownPeer, "nobody is waiting as '" + id + "'", fx);
}

bool Registry::admit(ConnId conn, const Room &room, const proto::Join &j, Clock::time_point now,
                     Effects &fx, std::string_view source) {
    if (!room.key) {
        if (!j.make_private)
            return true;
        // Joining an open room would make the newcomer believe strangers cannot follow.
        error(conn, proto::ErrorCode::RoomNotPrivate,
              "this room exists and is open to anyone: choose another name", fx);
        return false;
    }
    auto wait = key_attempts_.wait(source, now);
    if (wait.count() > 0) {
        ++key_refused_;
        error(conn, proto::ErrorCode::TooManyAttempts,
              "too many wrong room keys from your address: try again in " +
                  seconds_to_wait(wait) + " s",
              fx);
        return false;
    }
    if (j.key && same_hash(hash_key(*j.key), *room.key))
        return true;
    if (j.key) {
        ++key_failures_;
        key_attempts_.failed(source, now);
    }
    error(conn, proto::ErrorCode::PrivateRoom, "This room is private: ask for its link", fx);
    return false;
}

void Registry::signal(ConnId conn, const proto::Signal &s, Effects &fx) {
    auto from = by_conn_.find(conn);
    if (from == by_conn_.end())
        return error(conn, proto::ErrorCode::NotJoined, "join a room before signaling", fx);
    const Member &sender = members_.at(from->second);
    auto to = members_.find(s.to);
    // Ids in other rooms are reported exactly like ids that do not exist.
    if (to == members_.end() || to->second.room != sender.room || to->second.id == sender.id)
        return error(conn, proto::ErrorCode::UnknownPeer, "no peer '" + s.to + "' in this room",
                     fx);
    if (!to->second.conn)
        return error(conn, proto::ErrorCode::UnknownPeer, "peer '" + s.to + "' is disconnected",
                     fx);
    fx.send.push_back({to->second.conn, proto::Relayed{sender.id, s.data_json}});
}

void Registry::remove(const std::string &id, proto::LeaveReason reason, Effects &fx) {
    auto it = members_.find(id);
    if (it == members_.end())
        return;
    Member m = std::move(it->second);
    members_.erase(it);
    if (m.conn)
        by_conn_.erase(m.conn);
    by_token_.erase(m.token);
    auto room = rooms_.find(m.room);
    if (room == rooms_.end())
        return;
    auto &ids = room->second.ids;
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
    for (const auto &other : ids) {
        const Member &o = members_.at(other);
        if (o.conn)
            fx.send.push_back({o.conn, proto::PeerLeft{id, reason}});
    }
    if (!ids.empty())
        return;
    // Nobody is left to open the door.
    for (const Knock &k : room->second.waiting) {
        waiting_.erase(k.conn);
        error(k.conn, proto::ErrorCode::LobbyTimeout,
              "Everyone has left the room. Try again later.", fx);
    }
    rooms_.erase(room);
}

void Registry::disconnected(ConnId conn, Clock::time_point now, Effects &fx) {
    if (settle_waiter(conn, proto::AdmitOutcome::Left, fx))
        return;
    auto it = by_conn_.find(conn);
    if (it == by_conn_.end())
        return;
    std::string id = it->second;
    if (config_.resume_grace.count() <= 0)
        return remove(id, proto::LeaveReason::Left, fx);
    by_conn_.erase(it);
    Member &m = members_.at(id);
    m.conn = 0;
    m.dropped_at = now;
    for (const auto &other : rooms_[m.room].ids) {
        const Member &o = members_.at(other);
        if (o.conn)
            fx.send.push_back({o.conn, proto::PeerLeft{id, proto::LeaveReason::Dropped}});
    }
}

Clock::time_point Registry::expire(Clock::time_point now, Effects &fx) {
    std::vector<std::string> due;
    Clock::time_point next = Clock::time_point::max();
    for (const auto &[id, m] : members_) {
        if (m.conn)
            continue;
        auto deadline = m.dropped_at + config_.resume_grace;
        if (deadline <= now)
            due.push_back(id);
        else
            next = std::min(next, deadline);
    }
    for (const auto &id : due)
        remove(id, proto::LeaveReason::Expired, fx);
    // Knocks nobody answered in time.
    std::vector<ConnId> late;
    for (const auto &w : waiting_) {
        auto [r, index] = knock_of(w.first);
        if (!r)
            continue;
        if (r->waiting[index].deadline <= now)
            late.push_back(w.first);
        else
            next = std::min(next, r->waiting[index].deadline);
    }
    for (ConnId conn : late) {
        settle_waiter(conn, proto::AdmitOutcome::TimedOut, fx);
        error(conn, proto::ErrorCode::LobbyTimeout,
              "Nobody in the room answered. Try again later.", fx);
    }
    key_attempts_.prune(now);
    knocks_.prune(now);
    return next;
}

} // namespace duet::signaling

// SPDX-License-Identifier: MIT
// Rooms in Redis: the C++ half of signaling/cluster.lua (see cluster.h).
#include "cluster.h"

#include "cluster_script.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <memory>
#include <set>

namespace duet::signaling {
namespace {

std::string sha256_hex(std::string_view text) {
    gchar *hex = g_compute_checksum_for_data(
        G_CHECKSUM_SHA256, reinterpret_cast<const guchar *>(text.data()), text.size());
    std::string out = hex;
    g_free(hex);
    return out;
}

constexpr const char *kUnavailable = "the room service is unavailable: try again in a moment";

// The reply's element `i` as text ("" when absent or not text).
std::string text_at(const redis::Reply &r, std::size_t i) {
    if (i >= r.elements.size())
        return {};
    const redis::Reply &e = r.elements[i];
    if (e.type == redis::Reply::Type::Integer)
        return std::to_string(e.integer);
    return e.str;
}

long long int_at(const redis::Reply &r, std::size_t i) {
    return i < r.elements.size() ? r.elements[i].integer : 0;
}

} // namespace

Cluster::Cluster(ClusterConfig config, RegistryConfig rooms, Sink sink,
                 Registry::TokenSource tokens)
    : config_(std::move(config)), rooms_(std::move(rooms)), sink_(std::move(sink)),
      tokens_(tokens ? std::move(tokens) : Registry::TokenSource(random_hex)),
      instance_(tokens_(6)),
      key_attempts_(rooms_.key_burst, rooms_.key_refill, rooms_.key_sources) {
    script_ = std::make_unique<redis::Client::Script>(kClusterScript);
    redis_ = std::make_unique<redis::Client>(config_.url, config_.client);
    redis_->subscribe("duet:i:" + instance_);
    std::weak_ptr<bool> alive = alive_;
    redis_->on_state([this, alive](bool up) {
        if (!alive.expired())
            on_state(up);
    });
    redis_->on_message([this, alive](std::string_view, std::string_view payload) {
        if (!alive.expired())
            on_message(payload);
    });
}

Cluster::~Cluster() {
    alive_.reset();
    if (timer_)
        g_source_remove(timer_);
    redis_.reset();
}

void Cluster::start() {
    g_message("redis: instance %s using %s", instance_.c_str(), config_.url.redacted().c_str());
    redis_->start();
    timer_ = g_timeout_add(
        config_.heartbeat_ms,
        [](gpointer self) -> gboolean {
            static_cast<Cluster *>(self)->tick();
            return G_SOURCE_CONTINUE;
        },
        this);
}

bool Cluster::redis_up() const {
    return redis_->up();
}

std::uint64_t Cluster::redis_reconnects() const {
    return redis_->reconnects();
}

std::size_t Cluster::room_count() const {
    std::set<std::string_view> rooms;
    for (const auto &[id, m] : members_)
        rooms.insert(m.room);
    return rooms.size();
}

std::size_t Cluster::private_room_count() const {
    std::set<std::string_view> rooms;
    for (const auto &[id, m] : members_)
        if (!m.key_hash.empty())
            rooms.insert(m.room);
    return rooms.size();
}

void Cluster::error(ConnId conn, proto::ErrorCode code, std::string text, Effects &fx) {
    fx.send.push_back({conn, proto::Error{code, std::move(text)}});
}

bool Cluster::run(std::vector<std::string> args, redis::Client::Callback cb) {
    std::vector<std::string_view> views(args.begin(), args.end());
    std::weak_ptr<bool> alive = alive_;
    return redis_->eval(*script_, {}, views, [alive, cb = std::move(cb)](const redis::Reply &r) {
        if (!alive.expired() && cb)
            cb(r);
    });
}

// Keeps our view of a room's door switch (to write back if Redis restarts empty) from the
// `lobby` frames its members get.
void Cluster::note_lobby(const std::string &room, std::string_view frame) {
    if (g_str_has_prefix(std::string(frame.substr(0, 40)).c_str(),
                         "{\"type\":\"lobby\",\"on\":true"))
        lobby_rooms_.insert(room);
    else if (g_str_has_prefix(std::string(frame.substr(0, 40)).c_str(),
                              "{\"type\":\"lobby\",\"on\":false"))
        lobby_rooms_.erase(room);
}

void Cluster::deliver(const redis::Reply &r, Effects &fx) {
    if (r.elements.size() < 2)
        return;
    const auto &list = r.elements[1].elements;
    for (std::size_t i = 0; i + 1 < list.size(); i += 2) {
        auto it = members_.find(list[i].str);
        if (it == members_.end() || !it->second.conn)
            continue;
        note_lobby(it->second.room, list[i + 1].str);
        fx.text.push_back({it->second.conn, list[i + 1].str});
    }
}

void Cluster::deliver_reply(const redis::Reply &r) {
    Effects later;
    deliver(r, later);
    sink_(later);
}

void Cluster::tell_local(const std::string &room, const std::string &except,
                         const proto::ServerMessage &msg, Effects &fx) {
    for (const auto &[id, m] : members_)
        if (m.room == room && id != except && m.conn)
            fx.send.push_back({m.conn, msg});
}

void Cluster::handle(ConnId conn, const proto::ClientMessage &msg, Clock::time_point now,
                     Effects &fx, std::string_view source) {
    if (auto *j = std::get_if<proto::Join>(&msg))
        join(conn, *j, now, fx, source);
    else if (auto *s = std::get_if<proto::Signal>(&msg))
        signal(conn, *s, fx);
    else if (std::holds_alternative<proto::Leave>(msg))
        leave(conn, fx);
    else
        door(conn, msg, fx);
}

void Cluster::door(ConnId conn, const proto::ClientMessage &msg, Effects &fx) {
    auto it = by_conn_.find(conn);
    if (it == by_conn_.end())
        return error(conn, proto::ErrorCode::NotJoined, "join a room first", fx);
    const Member &m = members_.at(it->second);
    std::vector<std::string> args;
    std::string knock;
    if (auto *l = std::get_if<proto::SetLobby>(&msg)) {
        args = {"lobby", instance_,         m.room,
                m.id,    l->on ? "1" : "0", std::to_string(rooms_.max_peers)};
    } else if (auto *a = std::get_if<proto::Admit>(&msg)) {
        knock = a->id;
        args = {"admit", instance_, m.room, m.id, a->id, std::to_string(rooms_.max_peers)};
    } else if (auto *d = std::get_if<proto::Decline>(&msg)) {
        knock = d->id;
        args = {"decline", instance_, m.room,
                m.id,      d->id,     std::to_string(rooms_.decline_cooldown.count())};
    } else {
        return;
    }
    bool sent = run(std::move(args), [this, conn, knock](const redis::Reply &r) {
        Effects later;
        std::string status = text_at(r, 0);
        if (r.is_error())
            error(conn, proto::ErrorCode::Unavailable, kUnavailable, later);
        else if (status == "unknown")
            error(conn, proto::ErrorCode::UnknownPeer, "nobody is waiting as '" + knock + "'",
                  later);
        else if (status == "full")
            error(conn, proto::ErrorCode::RoomFull, "the room is full: nobody more can come in",
                  later);
        deliver(r, later);
        sink_(later);
    });
    if (!sent)
        error(conn, proto::ErrorCode::Unavailable, kUnavailable, fx);
}

void Cluster::unknock(ConnId conn) {
    auto it = knock_by_conn_.find(conn);
    if (it == knock_by_conn_.end())
        return;
    Knock k = knocks_.at(it->second);
    knocks_.erase(k.id);
    knock_by_conn_.erase(it);
    run({"unknock", instance_, k.room, k.id}, [this](const redis::Reply &r) { deliver_reply(r); });
}

// A knock of ours was let in: it is member `id` now. `info` is the script's JSON: the
// room, its key's hash, the lobby switch and who else is in, as id, name pairs.
void Cluster::let_in(const std::string &id, std::string_view info, Effects &fx) {
    JsonParser *parser = json_parser_new();
    std::unique_ptr<JsonParser, decltype(&g_object_unref)> hold(parser, g_object_unref);
    if (!json_parser_load_from_data(parser, info.data(), gssize(info.size()), nullptr) ||
        !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
        return;
    JsonObject *o = json_node_get_object(json_parser_get_root(parser));
    std::string room = json_object_get_string_member_with_default(o, "r", "");
    auto kit = knocks_.find(id);
    if (kit == knocks_.end()) {
        // Gone before the answer came: the seat it was given goes again.
        run({"leave", instance_, room, id}, [this](const redis::Reply &r) { deliver_reply(r); });
        return;
    }
    Knock k = kit->second;
    knocks_.erase(kit);
    knock_by_conn_.erase(k.conn);
    Member m;
    m.id = id;
    m.room = room;
    m.token_hash = sha256_hex(k.token);
    m.key_hash = json_object_get_string_member_with_default(o, "k", "");
    m.conn = k.conn;
    proto::Joined joined;
    joined.id = id;
    joined.room = room;
    joined.resume = k.token;
    joined.ice_servers_json = rooms_.ice_servers ? rooms_.ice_servers(id) : rooms_.ice_servers_json;
    joined.is_private = !m.key_hash.empty();
    joined.lobby = json_object_get_boolean_member_with_default(o, "l", FALSE);
    if (joined.lobby)
        lobby_rooms_.insert(room);
    JsonNode *p = json_object_get_member(o, "p");
    if (p && JSON_NODE_HOLDS_ARRAY(p)) {
        JsonArray *a = json_node_get_array(p);
        for (guint i = 0; i + 1 < json_array_get_length(a); i += 2) {
            const char *pid = json_array_get_string_element(a, i);
            const char *pname = json_array_get_string_element(a, i + 1);
            if (!pid)
                continue;
            joined.peers.push_back(pid);
            if (pname && *pname)
                joined.names.emplace_back(pid, pname);
        }
    }
    by_conn_[k.conn] = id;
    members_[id] = std::move(m);
    fx.send.push_back({k.conn, std::move(joined)});
}

void Cluster::join(ConnId conn, const proto::Join &j, Clock::time_point now, Effects &fx,
                   std::string_view source) {
    if (by_conn_.count(conn) || joining_.count(conn))
        return error(conn, proto::ErrorCode::AlreadyJoined, "already in a room; leave first", fx);
    auto room = proto::normalize_room(j.room);
    if (!room)
        return error(conn, proto::ErrorCode::InvalidRoom, room.message(), fx);
    if (!redis_->up())
        return error(conn, proto::ErrorCode::Unavailable, kUnavailable, fx);
    if (j.key) {
        auto wait = key_attempts_.wait(source, now);
        if (wait.count() > 0) {
            ++key_refused_;
            return error(conn, proto::ErrorCode::TooManyAttempts,
                         "too many wrong room keys from your address: try again in " +
                             seconds_to_wait(wait) + " s",
                         fx);
        }
    }
    std::string id = tokens_(6);
    std::string token = tokens_(16);
    std::string new_key = j.make_private ? (j.key ? *j.key : tokens_(16)) : std::string();
    std::string key_hash = j.key ? sha256_hex(*j.key) : std::string();
    std::string token_hash = sha256_hex(token);
    std::string resume_hash = j.resume ? sha256_hex(*j.resume) : std::string();
    std::vector<std::string> args = {"join",
                                     instance_,
                                     *room,
                                     id,
                                     token_hash,
                                     resume_hash,
                                     j.name.value_or(""),
                                     j.name ? "1" : "0",
                                     std::to_string(rooms_.max_peers),
                                     key_hash,
                                     j.make_private ? "1" : "0",
                                     new_key.empty() ? std::string() : sha256_hex(new_key),
                                     std::string(source),
                                     std::to_string(rooms_.max_waiting),
                                     std::to_string(rooms_.lobby_timeout.count())};
    proto::Join copy = j;
    copy.room = *room;
    bool sent = run(std::move(args), [this, conn, copy, token, new_key,
                                      src = std::string(source)](const redis::Reply &r) {
        joined_reply(conn, copy, token, new_key, src, r);
    });
    if (!sent)
        return error(conn, proto::ErrorCode::Unavailable, kUnavailable, fx);
    joining_.insert(conn);
}

void Cluster::joined_reply(ConnId conn, const proto::Join &j, const std::string &token,
                           const std::string &new_key, const std::string &source,
                           const redis::Reply &r) {
    // disconnected() takes the connection out of joining_: gone if it is not there.
    bool open = joining_.erase(conn) != 0;
    Effects fx;
    std::string status = text_at(r, 0);
    if (r.is_error() || r.type != redis::Reply::Type::Array) {
        g_warning("redis: join script failed: %s", r.str.c_str());
        error(conn, proto::ErrorCode::Unavailable, kUnavailable, fx);
        sink_(fx);
        return replay_early();
    }
    deliver(r, fx);
    if (status == "full") {
        error(conn, proto::ErrorCode::RoomFull, room_full_message(j.room, rooms_.max_peers), fx);
    } else if (status == "private" || status == "badkey") {
        if (status == "badkey") {
            ++key_failures_;
            key_attempts_.failed(source, Clock::now());
        }
        error(conn, proto::ErrorCode::PrivateRoom, "This room is private: ask for its link", fx);
    } else if (status == "waiting") {
        Knock k;
        k.id = text_at(r, 2);
        k.room = j.room;
        k.token = token;
        k.conn = conn;
        // Redis keeps the real deadline; this one is for a Redis that forgot the knock.
        k.deadline = Clock::now() + rooms_.lobby_timeout + std::chrono::seconds(5);
        if (!open) {
            knocks_[k.id] = k;
            knock_by_conn_[conn] = k.id;
            unknock(conn);
        } else {
            knock_by_conn_[conn] = k.id;
            knocks_[k.id] = std::move(k);
            fx.send.push_back({conn, proto::Waiting{j.room}});
        }
    } else if (status == "cooldown") {
        error(conn, proto::ErrorCode::TooManyAttempts,
              "you were turned away a moment ago: try again in " +
                  seconds_to_wait(std::chrono::milliseconds(int_at(r, 2))) + " s",
              fx);
    } else if (status == "crowded") {
        error(conn, proto::ErrorCode::RoomFull,
              "too many people are already waiting to join room '" + j.room + "'", fx);
    } else if (status == "notprivate") {
        error(conn, proto::ErrorCode::RoomNotPrivate,
              "this room exists and is open to anyone: choose another name", fx);
    } else if (status == "joined" || status == "resumed") {
        bool resumed = status == "resumed";
        Member m;
        m.id = text_at(r, 2);
        m.room = j.room;
        m.token_hash = sha256_hex(resumed ? *j.resume : token);
        m.name = text_at(r, 6);
        m.key_hash = text_at(r, 3);
        bool is_private = !m.key_hash.empty();
        std::string closed = resumed ? text_at(r, 4) : std::string();
        if (!closed.empty()) { // resumed from another socket of ours
            auto old = members_.find(closed);
            if (old != members_.end() && old->second.conn) {
                by_conn_.erase(old->second.conn);
                fx.close.push_back(old->second.conn);
            }
        }
        held_.erase(m.id);
        m.conn = conn;
        proto::Joined joined;
        joined.id = m.id;
        joined.room = m.room;
        joined.resume = resumed ? *j.resume : token;
        joined.resumed = resumed;
        joined.ice_servers_json =
            rooms_.ice_servers ? rooms_.ice_servers(m.id) : rooms_.ice_servers_json;
        joined.is_private = is_private;
        if (!resumed && int_at(r, 4) != 0)
            joined.key = new_key;
        if (r.elements.size() > 5) {
            const auto &peers = r.elements[5].elements;
            for (std::size_t i = 0; i + 1 < peers.size(); i += 2) {
                joined.peers.push_back(peers[i].str);
                if (!peers[i + 1].str.empty())
                    joined.names.emplace_back(peers[i].str, peers[i + 1].str);
            }
        }
        joined.lobby = int_at(r, 8) != 0;
        if (joined.lobby)
            lobby_rooms_.insert(m.room);
        else
            lobby_rooms_.erase(m.room);
        by_conn_[conn] = m.id;
        members_[m.id] = std::move(m);
        fx.send.push_back({conn, std::move(joined)});
        // Whoever waits at the door is asked about (after `joined`: the room comes first).
        if (r.elements.size() > 7)
            for (const auto &ask : r.elements[7].elements)
                fx.text.push_back({conn, ask.str});
        // The socket went while Redis answered: the seat is held as for any other drop.
        if (!open) {
            fx.send.pop_back();
            disconnected(conn, fx);
        }
    } else {
        g_warning("redis: join script answered '%s'", status.c_str());
        error(conn, proto::ErrorCode::Unavailable, kUnavailable, fx);
    }
    sink_(fx);
    replay_early();
}

void Cluster::signal(ConnId conn, const proto::Signal &s, Effects &fx) {
    auto from = by_conn_.find(conn);
    if (from == by_conn_.end())
        return error(conn, proto::ErrorCode::NotJoined, "join a room before signaling", fx);
    const Member &sender = members_.at(from->second);
    auto to = members_.find(s.to);
    if (to != members_.end() && to->second.room == sender.room && s.to != sender.id) {
        if (!to->second.conn)
            return error(conn, proto::ErrorCode::UnknownPeer, "peer '" + s.to + "' is disconnected",
                         fx);
        ++relayed_local_;
        fx.send.push_back({to->second.conn, proto::Relayed{sender.id, s.data_json}});
        return;
    }
    if (s.to == sender.id)
        return error(conn, proto::ErrorCode::UnknownPeer, "no peer '" + s.to + "' in this room",
                     fx);
    std::string frame =
        proto::to_json(proto::ServerMessage{proto::Relayed{sender.id, s.data_json}});
    std::string to_id = s.to;
    bool sent = run({"relay", instance_, sender.room, sender.id, s.to, std::move(frame)},
                    [this, conn, to_id](const redis::Reply &r) {
                        Effects later;
                        std::string status = text_at(r, 0);
                        if (r.is_error())
                            error(conn, proto::ErrorCode::Unavailable, kUnavailable, later);
                        else if (status == "unknown")
                            error(conn, proto::ErrorCode::UnknownPeer,
                                  "no peer '" + to_id + "' in this room", later);
                        else if (status == "disconnected")
                            error(conn, proto::ErrorCode::UnknownPeer,
                                  "peer '" + to_id + "' is disconnected", later);
                        else
                            ++relayed_remote_;
                        deliver(r, later);
                        if (!later.send.empty() || !later.text.empty())
                            sink_(later);
                    });
    if (!sent)
        error(conn, proto::ErrorCode::Unavailable, kUnavailable, fx);
}

void Cluster::forget(const std::string &id) {
    auto it = members_.find(id);
    if (it == members_.end())
        return;
    by_conn_.erase(it->second.conn);
    members_.erase(it);
}

void Cluster::leave(ConnId conn, Effects &fx) {
    if (knock_by_conn_.count(conn))
        return unknock(conn); // left the lobby: the members' request goes away
    auto it = by_conn_.find(conn);
    if (it == by_conn_.end())
        return error(conn, proto::ErrorCode::NotJoined, "not in a room", fx);
    Member m = members_.at(it->second);
    forget(m.id);
    if (!run({"leave", instance_, m.room, m.id},
             [this](const redis::Reply &r) { deliver_reply(r); })) {
        tell_local(m.room, m.id, proto::PeerLeft{m.id, proto::LeaveReason::Left}, fx);
        left_.push_back(std::move(m));
    }
}

void Cluster::disconnected(ConnId conn, Effects &fx) {
    joining_.erase(conn); // its reply finds the socket gone
    unknock(conn);
    auto it = by_conn_.find(conn);
    if (it == by_conn_.end())
        return;
    Member m = members_.at(it->second);
    forget(m.id);
    auto grace = rooms_.resume_grace;
    if (grace.count() > 0)
        held_[m.id] = Held{m, Clock::now() + grace, false};
    std::string id = m.id;
    bool sent = run({"drop", instance_, m.room, m.id, std::to_string(grace.count())},
                    [this, id](const redis::Reply &r) {
                        if (r.is_error())
                            return;
                        if (auto h = held_.find(id); h != held_.end())
                            h->second.written = true;
                        deliver_reply(r);
                    });
    if (sent)
        return;
    tell_local(m.room, m.id,
               proto::PeerLeft{m.id, grace.count() > 0 ? proto::LeaveReason::Dropped
                                                       : proto::LeaveReason::Left},
               fx);
    if (grace.count() <= 0)
        left_.push_back(std::move(m));
}

void Cluster::expire(Clock::time_point now) {
    for (auto it = held_.begin(); it != held_.end();) {
        if (it->second.until > now) {
            ++it;
            continue;
        }
        // Redis never heard of the drop (it was away): the seat still reads as taken
        // there, so it is freed once Redis is back.
        if (!it->second.written)
            left_.push_back(it->second.member);
        it = held_.erase(it);
    }
    key_attempts_.prune(now);
    for (auto it = lobby_rooms_.begin(); it != lobby_rooms_.end();) {
        bool ours = false;
        for (const auto &[id, m] : members_)
            ours = ours || m.room == *it;
        it = ours ? std::next(it) : lobby_rooms_.erase(it);
    }
    // Knocks Redis forgot (it restarted empty): nobody can answer them any more.
    std::vector<ConnId> late;
    for (const auto &[id, k] : knocks_)
        if (k.deadline <= now)
            late.push_back(k.conn);
    Effects fx;
    for (ConnId conn : late) {
        unknock(conn);
        error(conn, proto::ErrorCode::LobbyTimeout, "Nobody in the room answered. Try again later.",
              fx);
    }
    if (!fx.send.empty())
        sink_(fx);
}

void Cluster::tick() {
    if (!redis_->up())
        return;
    if (restore_needed_)
        restore();
    run({"tick", instance_, std::to_string(config_.heartbeat_ttl_ms),
         std::to_string(rooms_.resume_grace.count())},
        [this](const redis::Reply &r) {
            if (r.is_error()) {
                g_warning("redis: tick script failed: %s", r.str.c_str());
                return;
            }
            reaped_ += std::uint64_t(int_at(r, 3));
            if (int_at(r, 3) > 0)
                g_message("redis: held the seats of %lld member(s) of instances that stopped",
                          int_at(r, 3));
            if (int_at(r, 2) != 0 && !members_.empty()) {
                g_message("redis: our heartbeat had lapsed; writing our members back");
                restore_needed_ = true;
            }
            deliver_reply(r);
            if (restore_needed_)
                restore();
        });
}

void Cluster::restore() {
    restore_needed_ = false;
    std::vector<std::string> args = {"restore", instance_};
    auto add = [this, &args](const Member &m, long long left_ms) {
        args.insert(args.end(), {m.room, m.id, m.token_hash, m.name, m.key_hash,
                                 std::to_string(left_ms), lobby_rooms_.count(m.room) ? "1" : "0"});
    };
    auto now = Clock::now();
    for (const auto &[id, m] : members_)
        add(m, 0);
    for (const auto &[id, h] : held_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(h.until - now).count();
        if (left > 0)
            add(h.member, left);
    }
    for (const Member &m : left_)
        add(m, -1);
    if (args.size() == 2)
        return;
    bool sent = run(std::move(args), [this](const redis::Reply &r) {
        if (r.is_error()) {
            g_warning("redis: restore script failed: %s", r.str.c_str());
            restore_needed_ = true;
            return;
        }
        for (auto &[id, h] : held_)
            h.written = true;
        Effects later;
        deliver(r, later);
        if (r.elements.size() > 2)
            for (const auto &e : r.elements[2].elements) {
                auto it = members_.find(e.str);
                if (it == members_.end())
                    continue;
                ConnId c = it->second.conn;
                forget(e.str);
                later.close.push_back(c);
            }
        sink_(later);
    });
    if (sent)
        left_.clear();
    else
        restore_needed_ = true;
}

void Cluster::on_state(bool up) {
    if (up) {
        g_message("redis: connected (instance %s)", instance_.c_str());
        restore_needed_ = true;
        tick();
    } else {
        g_warning("redis: connection lost; new joins are refused until it is back");
    }
}

// Messages come on the subscriber connection, join replies on the command connection, and
// nothing orders the two: a room-mate's peer-joined (published after our member's seat was
// taken) can arrive before the reply that tells us the seat is ours. While joins are under
// way, messages for members we do not know yet are kept, and handed on after the reply.
bool Cluster::hold_early(std::string_view payload) {
    if (joining_.empty() || early_.size() >= kMaxEarly)
        return false;
    early_.emplace_back(payload);
    return true;
}

void Cluster::replay_early() {
    if (early_.empty())
        return;
    std::vector<std::string> kept;
    kept.swap(early_);
    for (const std::string &p : kept) {
        std::size_t end = p.find('\n', 2);
        std::string id = p.substr(2, end == std::string::npos ? std::string::npos : end - 2);
        if (members_.count(id))
            on_message(p); // known now: delivered
        else if (!joining_.empty())
            early_.push_back(p); // perhaps for a join still under way
    }
}

void Cluster::on_message(std::string_view payload) {
    // "s\n<id>\n<frame>": a frame for our member <id>; "c\n<id>": its seat was resumed
    // on another instance, close our socket.
    if (payload.size() < 3 || payload[1] != '\n')
        return;
    std::string_view rest = payload.substr(2);
    Effects fx;
    if (payload[0] == 's') {
        std::size_t nl = rest.find('\n');
        if (nl == std::string_view::npos)
            return;
        auto it = members_.find(std::string(rest.substr(0, nl)));
        if (it == members_.end() && hold_early(payload))
            return;
        if (it == members_.end() || !it->second.conn)
            return;
        note_lobby(it->second.room, rest.substr(nl + 1));
        fx.text.push_back({it->second.conn, std::string(rest.substr(nl + 1))});
    } else if (payload[0] == 'a') { // "a\n<id>\n<info>": a knock of ours was let in
        std::size_t nl = rest.find('\n');
        if (nl == std::string_view::npos)
            return;
        let_in(std::string(rest.substr(0, nl)), rest.substr(nl + 1), fx);
    } else if (payload[0] == 'e') { // "e\n<id>\n<code>\n<text>": turned away
        std::size_t a = rest.find('\n');
        std::size_t b = a == std::string_view::npos ? a : rest.find('\n', a + 1);
        if (b == std::string_view::npos)
            return;
        auto it = knocks_.find(std::string(rest.substr(0, a)));
        auto code = proto::error_code_from_name(rest.substr(a + 1, b - a - 1));
        if (it == knocks_.end() || !code)
            return;
        ConnId c = it->second.conn;
        knock_by_conn_.erase(c);
        knocks_.erase(it);
        error(c, *code, std::string(rest.substr(b + 1)), fx);
    } else if (payload[0] == 'c') {
        auto it = members_.find(std::string(rest));
        if (it == members_.end() && hold_early(payload))
            return;
        if (it == members_.end())
            return;
        ConnId c = it->second.conn;
        forget(it->second.id);
        fx.close.push_back(c);
    }
    sink_(fx);
}

} // namespace duet::signaling

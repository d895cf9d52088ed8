// SPDX-License-Identifier: MIT
// Rooms shared by several duet-server instances through Redis (`--redis URL`).
//
// The room state (members, held seats, resume tokens, private keys) lives in Redis and every
// change to it is one Lua script (signaling/cluster.lua), so the room-full rule is exact
// across instances. Each instance keeps only its own sockets: a signal between two members
// on this instance goes straight across, one for a member elsewhere is published on that
// instance's channel. Instances keep a heartbeat; when one's lapses, the others hold its
// members' seats for the resume grace and tell the rest of each room.
#pragma once

#include "redis_client.h"
#include "registry.h"

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace duet::signaling {

struct ClusterConfig {
    redis::Url url;
    redis::ClientOptions client;
    // How often the heartbeat is refreshed (and dead instances and expired seats looked
    // for), and how long it lives: an instance is taken for dead this long after its last.
    unsigned heartbeat_ms = 1000;
    unsigned heartbeat_ttl_ms = 3000;
};

class Cluster {
  public:
    // Effects produced later (a script's reply, a message from another instance) go here.
    using Sink = std::function<void(Effects &)>;

    Cluster(ClusterConfig config, RegistryConfig rooms, Sink sink,
            Registry::TokenSource tokens = {});
    ~Cluster();
    Cluster(const Cluster &) = delete;
    Cluster &operator=(const Cluster &) = delete;

    void start();

    // Same contract as Registry's, except that most effects arrive later through the sink.
    void handle(ConnId conn, const proto::ClientMessage &msg, Clock::time_point now, Effects &fx,
                std::string_view source = {});
    void disconnected(ConnId conn, Effects &fx);
    // Forgets held seats (kept to write back after a Redis restart) whose time is up.
    void expire(Clock::time_point now);

    bool redis_up() const;
    // In a room, joining one, or waiting at its door.
    bool is_joined(ConnId conn) const {
        return by_conn_.count(conn) || joining_.count(conn) || knock_by_conn_.count(conn);
    }
    std::size_t waiting_count() const { return knocks_.size(); }
    std::size_t room_count() const;
    std::size_t member_total() const { return members_.size(); }
    std::size_t private_room_count() const;
    std::size_t key_failures_total() const { return key_failures_; }
    std::size_t key_attempts_refused_total() const { return key_refused_; }
    const std::string &instance() const { return instance_; }
    std::uint64_t redis_reconnects() const;
    std::uint64_t relayed_remote_total() const { return relayed_remote_; }
    std::uint64_t relayed_local_total() const { return relayed_local_; }
    std::uint64_t reaped_total() const { return reaped_; }

  private:
    struct Member {
        std::string id;
        std::string room;
        std::string token_hash;
        std::string name;
        std::string key_hash; // the room's, when private
        ConnId conn = 0;
    };
    // A seat this instance let go of (socket gone): kept until its grace is over so it can
    // be written back if Redis restarts empty meanwhile.
    struct Held {
        Member member;
        Clock::time_point until;
        bool written = false; // Redis holds the seat too (the drop script ran)
    };

    // Someone of ours waiting at a room's door (the lobby).
    struct Knock {
        std::string id;
        std::string room;
        std::string token; // theirs once let in
        ConnId conn = 0;
        Clock::time_point deadline; // in case Redis forgets the knock
    };

    void join(ConnId conn, const proto::Join &j, Clock::time_point now, Effects &fx,
              std::string_view source);
    // set-lobby, admit, decline from member `conn`.
    void door(ConnId conn, const proto::ClientMessage &msg, Effects &fx);
    void unknock(ConnId conn);
    void let_in(const std::string &id, std::string_view info, Effects &fx);
    void joined_reply(ConnId conn, const proto::Join &j, const std::string &token,
                      const std::string &new_key, const std::string &source, const redis::Reply &r);
    void signal(ConnId conn, const proto::Signal &s, Effects &fx);
    void leave(ConnId conn, Effects &fx);
    void tick();
    void restore();
    void on_state(bool up);
    void on_message(std::string_view payload);
    bool hold_early(std::string_view payload);
    void replay_early();
    void note_lobby(const std::string &room, std::string_view frame);
    // The same, for a reply that needs nothing else done.
    void deliver_reply(const redis::Reply &r);
    // Sends a reply's deliveries (its second element) to our own members.
    void deliver(const redis::Reply &r, Effects &fx);
    // Tells our own members of `room` (but `except`) directly: used while Redis is away.
    void tell_local(const std::string &room, const std::string &except,
                    const proto::ServerMessage &msg, Effects &fx);
    bool run(std::vector<std::string> args, redis::Client::Callback cb = {});
    void forget(const std::string &id);
    static void error(ConnId conn, proto::ErrorCode code, std::string text, Effects &fx);

    ClusterConfig config_;
    RegistryConfig rooms_;
    Sink sink_;
    Registry::TokenSource tokens_;
    std::string instance_;
    std::unique_ptr<redis::Client> redis_;
    std::unique_ptr<redis::Client::Script> script_;
    std::unordered_map<std::string, Member> members_; // ours, by id
    std::unordered_map<ConnId, std::string> by_conn_;
    std::unordered_set<ConnId> joining_;            // a join script is under way
    std::unordered_map<std::string, Knock> knocks_; // by knock id
    std::unordered_map<ConnId, std::string> knock_by_conn_;
    std::unordered_set<std::string> lobby_rooms_; // rooms of ours whose newcomers ask first
    // Messages for members whose join reply has not come yet (see hold_early).
    std::vector<std::string> early_;
    static constexpr std::size_t kMaxEarly = 4096;
    std::unordered_map<std::string, Held> held_;
    // Members who left while Redis was away: their seats are freed once it is back.
    std::vector<Member> left_;
    AttemptLimiter key_attempts_;
    std::size_t key_failures_ = 0;
    std::size_t key_refused_ = 0;
    std::uint64_t relayed_remote_ = 0;
    std::uint64_t relayed_local_ = 0;
    std::uint64_t reaped_ = 0;
    bool restore_needed_ = false;
    guint timer_ = 0;
    // Replies that arrive after the destructor ran must not touch it.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace duet::signaling

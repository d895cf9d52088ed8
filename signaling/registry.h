// SPDX-License-Identifier: MIT
// The room registry: pure room logic that turns (connection, message) into messages to send.
#pragma once

#include "attempts.h"
#include "protocol.h"

#include <array>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace duet::signaling {

using ConnId = std::uint64_t;
using Clock = std::chrono::steady_clock;

struct RegistryConfig {
    std::size_t max_peers = 2;
    // How long a dropped participant's seat is held for a resume. Long enough for a tab
    // reload or a laptop lid, short enough that an abandoned seat frees itself soon.
    std::chrono::milliseconds resume_grace{30000};
    std::string ice_servers_json = "[]";
    // When set, builds `iceServers` per peer (TURN credentials name the peer id).
    std::function<std::string(const std::string &peer_id)> ice_servers;
    // Wrong private-room keys per source address: this many at once, then one per
    // `key_refill`; more are refused with too-many-attempts without being checked.
    unsigned key_burst = 10;
    std::chrono::milliseconds key_refill{6000};
    std::size_t key_sources = 65536;
    // "Ask before anyone joins": how long a newcomer waits for an answer, how long after a
    // decline the same address may knock on that room again, and how many may wait at once.
    std::chrono::milliseconds lobby_timeout{60000};
    std::chrono::milliseconds decline_cooldown{30000};
    std::size_t max_waiting = 8;
};

// What the transport must do after a call into the registry.
struct Effects {
    struct Send {
        ConnId to;
        proto::ServerMessage msg;
    };
    std::vector<Send> send;
    // Frames already serialised (by Redis scripts or another instance): sent as they are.
    std::vector<std::pair<ConnId, std::string>> text;
    std::vector<ConnId> close; // sockets to close (a resumed seat's stale connection)
};

// Not thread-safe: the transport serialises calls (one lock or one thread), which also
// makes the room-full check and the seat it grants a single atomic step.
class Registry {
  public:
    using TokenSource = std::function<std::string(std::size_t bytes)>;
    using KeyHash = std::array<unsigned char, 32>; // SHA-256: a room's key is never kept

    explicit Registry(RegistryConfig config, TokenSource tokens = {});

    // `source` names where the connection comes from (an address), for the limit on wrong
    // private-room keys; connections with the same source share one limit.
    void handle(ConnId conn, const proto::ClientMessage &msg, Clock::time_point now, Effects &fx,
                std::string_view source = {});
    // The connection is gone without a `leave`: hold its seat for the resume grace.
    void disconnected(ConnId conn, Clock::time_point now, Effects &fx);
    // Frees held seats whose grace has passed. Returns the earliest time something else
    // will expire, or time_point::max() if nothing is held.
    Clock::time_point expire(Clock::time_point now, Effects &fx);

    std::size_t room_count() const { return rooms_.size(); }
    std::size_t member_count(const std::string &room) const;
    std::size_t connection_count() const { return by_conn_.size(); }
    std::size_t member_total() const { return members_.size(); }
    bool is_joined(ConnId conn) const { return by_conn_.count(conn) != 0; }
    // Waiting in a room's lobby for someone to let it in.
    bool is_waiting(ConnId conn) const { return waiting_.count(conn) != 0; }
    std::size_t waiting_count() const { return waiting_.size(); }
    std::size_t private_room_count() const;
    // Joins refused for a wrong or missing key, and refused unchecked for too many of them.
    std::size_t key_failures_total() const { return key_failures_; }
    std::size_t key_attempts_refused_total() const { return key_refused_; }
    const RegistryConfig &config() const { return config_; }

  private:
    struct Member {
        std::string id;
        std::string room;
        std::string token;
        std::string name; // display name, shown to the others; may be empty
        ConnId conn = 0; // 0 while dropped and held
        Clock::time_point dropped_at{};
    };

    struct Knock { // someone at the door of a room with a lobby
        std::string id; // what members admit or decline; not a peer id
        ConnId conn = 0;
        std::string name;
        std::string source;
        Clock::time_point deadline{};
    };
    struct Room {
        std::vector<std::string> ids; // join order
        std::optional<KeyHash> key;   // private rooms only
        bool lobby = false;           // newcomers ask first
        std::vector<Knock> waiting;   // in the order they knocked
    };

    void join(ConnId conn, const proto::Join &j, Clock::time_point now, Effects &fx,
              std::string_view source);
    // Whether `j` may enter the existing `room`; sends the refusal itself when not.
    bool admit(ConnId conn, const Room &room, const proto::Join &j, Clock::time_point now,
               Effects &fx, std::string_view source);
    // A new seat in `name` for `conn` (shown to the others as `display`), or room-full.
    void enter(ConnId conn, const std::string &name, const std::string &display,
               const std::string &new_key, Effects &fx);
    void knock(ConnId conn, const std::string &name, Room &room, const proto::Join &j,
               Clock::time_point now, Effects &fx, std::string_view source);
    void set_lobby(ConnId conn, bool on, Effects &fx);
    void answer(ConnId conn, const std::string &id, bool let_in, Clock::time_point now,
                Effects &fx);
    // Takes knock `index` out of `room`'s lobby and tells the members how it ended.
    Knock settle(Room &room, std::size_t index, proto::AdmitOutcome outcome, Effects &fx);
    // The same for the knock of `conn`, if it waits in a lobby; false if it does not.
    bool settle_waiter(ConnId conn, proto::AdmitOutcome outcome, Effects &fx);
    // The knock of `conn` and where it stands, or {nullptr, 0} if it does not wait.
    std::pair<Room *, std::size_t> knock_of(ConnId conn);
    void tell_members(const Room &room, const proto::ServerMessage &msg, Effects &fx) const;
    void signal(ConnId conn, const proto::Signal &s, Effects &fx);
    void remove(const std::string &id, proto::LeaveReason reason, Effects &fx);
    // `new_key`: a private room's key, for the `joined` of the member who made it.
    void seat(Member &m, ConnId conn, bool resumed, Effects &fx, const std::string &new_key = {});
    std::string fresh_id();
    static void error(ConnId conn, proto::ErrorCode code, std::string text, Effects &fx);

    RegistryConfig config_;
    TokenSource tokens_;
    std::unordered_map<std::string, Member> members_;                 // by peer id
    std::unordered_map<ConnId, std::string> by_conn_;                 // joined connections only
    std::unordered_map<std::string, std::string> by_token_;           // resume token -> peer id
    std::unordered_map<std::string, Room> rooms_;                     // by name
    std::unordered_map<ConnId, std::string> waiting_; // connection in a lobby -> its room
    AttemptLimiter key_attempts_;
    AttemptLimiter knocks_; // after a decline: per address and room
    std::size_t key_failures_ = 0;
    std::size_t key_refused_ = 0;
};

// Unguessable random bytes from the kernel, hex encoded.
std::string random_hex(std::size_t bytes);
// "try again in N s": whole seconds, rounded up so that N s later the wait is over.
std::string seconds_to_wait(std::chrono::milliseconds wait);
// The room-full refusal's text, "room 'x' is full (N people)" (web/app.js reads the size).
std::string room_full_message(const std::string &room, std::size_t max_peers);

} // namespace duet::signaling

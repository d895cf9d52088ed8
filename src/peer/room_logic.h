// SPDX-License-Identifier: MIT
// Pure room logic: server messages in, call actions and events out. No GStreamer, no sockets.
#pragma once

#include "signaling/protocol.h"
#include "src/peer/events.h"

#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace duet::peer {

// What the logic needs to know about the call legs the app holds.
enum class LegStatus { None, Negotiating, Connected, Broken };

class LegView {
  public:
    virtual ~LegView() = default;
    virtual LegStatus status(const std::string &peer) const = 0;
    virtual std::vector<std::string> peers() const = 0;
};

namespace action {
struct Offer { // fresh leg (replacing any) and offer to `peer`
    std::string peer;
};
struct Answer { // fresh leg (replacing any) answering `sdp`
    std::string peer;
    std::string sdp;
};
struct ApplyAnswer {
    std::string peer;
    std::string sdp;
};
struct AddCandidate {
    std::string peer;
    proto::CandidateData candidate;
};
struct Close { // tear the leg down
    std::string peer;
};
struct Emit {
    Event event;
};
struct Send { // a message to the server (the lobby switch)
    proto::ClientMessage msg;
};
struct Ring { // start or stop ringing on the speaker
    bool on;
};
struct Rejoin { // send `join` again after `delay_ms`: the server could not place us yet
    unsigned delay_ms;
};
struct Exit { // leave and exit with this code
    int code;
    std::string message;
    std::string refused; // the server's error code when it refused the room itself
};
} // namespace action

using Action = std::variant<action::Offer, action::Answer, action::ApplyAnswer,
                            action::AddCandidate, action::Close, action::Emit, action::Send,
                            action::Ring, action::Rejoin, action::Exit>;

class RoomLogic {
  public:
    explicit RoomLogic(std::string room) : room_(std::move(room)) {}

    // The `join` to send on every (re)connection: with the resume token once we have one.
    proto::Join join_message() const;
    std::vector<Action> on_message(const proto::ServerMessage &msg, const LegView &legs);
    void on_disconnected() {
        joined_ = false;
        unavailable_ = 0;
    }
    // A token kept from an earlier run (see SeatStore): the first join tries to resume.
    void set_resume_token(std::string token) { token_ = std::move(token); }
    // The room is private with this key (--room-key-file): every join creates it so, or
    // enters it with the key.
    void set_room_key(std::string key) { key_ = std::move(key); }
    // --admit ask: every join switches "ask before anyone joins" on, and requests ring.
    void set_ask_to_join(bool ask) { ask_ = ask; }
    // --name: how the others see us; sent in every join ("" = none).
    void set_name(std::string name) { name_ = std::move(name); }
    // The display name member `id` gave ("" when none, or not known).
    const std::string &name_of(const std::string &id) const;
    // Requests to join that are still open (admit-request ids).
    const std::vector<std::string> &asking() const { return asking_; }

    bool joined() const { return joined_; }
    const std::string &id() const { return id_; }
    const std::string &resume_token() const { return token_; }
    const std::string &ice_servers_json() const { return ice_servers_; }

  private:
    void joined(const proto::Joined &j, const LegView &legs, std::vector<Action> &out);
    void relayed(const proto::Relayed &r, const LegView &legs, std::vector<Action> &out);
    void error(const proto::Error &e, std::vector<Action> &out);

    std::string room_;
    std::string key_;
    bool ask_ = false;
    std::vector<std::string> asking_;
    std::string name_;
    std::map<std::string, std::string> names_; // by member id, from joined and peer-joined
    std::string id_;
    std::string token_;
    std::string ice_servers_ = "[]";
    bool joined_ = false;
    unsigned unavailable_ = 0; // `unavailable` answers to our join since the last `joined`
};

} // namespace duet::peer

// SPDX-License-Identifier: MIT
// The protocol's rules for a peer: newcomer offers, one leg per peer, resume keeps live legs.
#include "src/peer/room_logic.h"

#include "src/peer/exit_codes.h"

#include <glib.h>

#include <algorithm>

namespace duet::peer {

proto::Join RoomLogic::join_message() const {
    proto::Join j{room_, std::nullopt};
    if (!token_.empty())
        j.resume = token_;
    if (!key_.empty()) {
        j.make_private = true;
        j.key = key_;
    }
    if (!name_.empty())
        j.name = name_;
    return j;
}

const std::string &RoomLogic::name_of(const std::string &id) const {
    static const std::string none;
    auto it = names_.find(id);
    return it == names_.end() ? none : it->second;
}

std::vector<Action> RoomLogic::on_message(const proto::ServerMessage &msg, const LegView &legs) {
    std::vector<Action> out;
    if (auto *j = std::get_if<proto::Joined>(&msg)) {
        joined(*j, legs, out);
    } else if (auto *pj = std::get_if<proto::PeerJoined>(&msg)) {
        // They offer (newcomer rule); a resumed peer whose leg survived offers nothing.
        if (pj->name.empty())
            names_.erase(pj->id);
        else
            names_[pj->id] = pj->name;
        out.push_back(action::Emit{events::peer_joined(pj->id, pj->resumed, pj->name)});
    } else if (auto *pl = std::get_if<proto::PeerLeft>(&msg)) {
        out.push_back(
            action::Emit{events::peer_left(pl->id, proto::leave_reason_name(pl->reason))});
        // A dropped peer may come back within the grace period; its media may even still
        // be flowing (only its signaling dropped). Keep the leg until left or expired.
        if (pl->reason != proto::LeaveReason::Dropped && legs.status(pl->id) != LegStatus::None)
            out.push_back(action::Close{pl->id});
        // A dropped member may come back, still called the same.
        if (pl->reason != proto::LeaveReason::Dropped)
            names_.erase(pl->id);
    } else if (auto *r = std::get_if<proto::Relayed>(&msg)) {
        relayed(*r, legs, out);
    } else if (auto *e = std::get_if<proto::Error>(&msg)) {
        error(*e, out);
    } else if (auto *ask = std::get_if<proto::AdmitRequest>(&msg)) {
        if (std::find(asking_.begin(), asking_.end(), ask->id) == asking_.end())
            asking_.push_back(ask->id);
        out.push_back(action::Emit{events::admit_request(ask->id, ask->name)});
        if (ask_)
            out.push_back(action::Ring{true});
    } else if (auto *done = std::get_if<proto::AdmitResolved>(&msg)) {
        asking_.erase(std::remove(asking_.begin(), asking_.end(), done->id), asking_.end());
        out.push_back(
            action::Emit{events::admit_resolved(done->id, proto::admit_outcome_name(done->outcome))});
        if (asking_.empty())
            out.push_back(action::Ring{false});
    } else if (auto *lobby = std::get_if<proto::LobbyState>(&msg)) {
        g_message("room '%s': newcomers %s", room_.c_str(),
                  lobby->on ? "now ask before they join" : "no longer ask before they join");
    } else if (std::holds_alternative<proto::Waiting>(msg)) {
        g_message("room '%s' asks newcomers first: waiting for someone inside to let us in",
                  room_.c_str());
    }
    return out;
}

void RoomLogic::joined(const proto::Joined &j, const LegView &legs, std::vector<Action> &out) {
    joined_ = true;
    unavailable_ = 0;
    id_ = j.id;
    token_ = j.resume;
    // The server asks about whoever still waits right after `joined`.
    if (!asking_.empty()) {
        asking_.clear();
        out.push_back(action::Ring{false});
    }
    if (ask_ && !j.lobby)
        out.push_back(action::Send{proto::SetLobby{true}});
    ice_servers_ = j.ice_servers_json;
    names_.clear();
    for (const auto &[id, name] : j.names)
        if (!name.empty())
            names_[id] = name;
    out.push_back(action::Emit{events::joined(j.id, j.room, j.peers, j.resumed)});
    // `peers` lists only members connected now. For a peer missing from it:
    // - after a fresh join (token expired, server restarted) our old legs belong to an
    //   identity nobody knows any more: close them;
    // - after a resume, they may just be dropped and held, with media still flowing, and
    //   will offer when they return: keep a connected leg (if they are gone for good, ICE
    //   fails and the leg closes then); a leg still negotiating cannot finish without
    //   signaling, so close it.
    for (const auto &p : legs.peers()) {
        if (std::find(j.peers.begin(), j.peers.end(), p) != j.peers.end())
            continue;
        if (!j.resumed || legs.status(p) != LegStatus::Connected)
            out.push_back(action::Close{p});
    }
    for (const auto &p : j.peers) {
        if (j.resumed && legs.status(p) == LegStatus::Connected) {
            g_info("resumed: keeping the live call with %s", p.c_str());
            continue;
        }
        out.push_back(action::Offer{p});
    }
}

void RoomLogic::relayed(const proto::Relayed &r, const LegView &legs, std::vector<Action> &out) {
    auto data = proto::parse_signal_data(r.data_json);
    if (!data) {
        g_message("ignoring signal from %s: %s", r.from.c_str(), data.message().c_str());
        return;
    }
    if (auto *sdp = std::get_if<proto::SdpData>(&*data)) {
        if (sdp->type == "offer") {
            out.push_back(action::Answer{r.from, sdp->sdp});
        } else if (legs.status(r.from) != LegStatus::None) {
            out.push_back(action::ApplyAnswer{r.from, sdp->sdp});
        } else {
            g_message("ignoring an answer from %s: no call with them", r.from.c_str());
        }
        return;
    }
    const auto &cand = std::get<proto::CandidateData>(*data);
    if (legs.status(r.from) == LegStatus::None) {
        g_debug("ignoring a candidate from %s: no call with them", r.from.c_str());
        return;
    }
    out.push_back(action::AddCandidate{r.from, cand});
}

void RoomLogic::error(const proto::Error &e, std::vector<Action> &out) {
    const char *code = proto::error_code_name(e.code);
    // A refusal of the room itself ends the run: with which exit code, and what to say.
    int exit_code = kExitFailure;
    std::string why;
    switch (e.code) {
    case proto::ErrorCode::RoomFull:
        exit_code = kExitRoomFull;
        why = "room '" + room_ + "' is full";
        break;
    case proto::ErrorCode::InvalidRoom:
        exit_code = kExitUsage;
        why = "the server refused room '" + room_ + "'";
        break;
    case proto::ErrorCode::PrivateRoom:
        exit_code = kExitRefused;
        why = "room '" + room_ + "' is private and did not take our key (--room-key-file)";
        break;
    case proto::ErrorCode::RoomNotPrivate:
        exit_code = kExitRefused;
        why = "room '" + room_ + "' already exists as an open room, so it cannot be made private";
        break;
    case proto::ErrorCode::Declined:
        exit_code = kExitRefused;
        why = "room '" + room_ + "'";
        break;
    case proto::ErrorCode::LobbyTimeout:
    case proto::ErrorCode::TooManyAttempts:
        // Nobody answered, or our key was refused too often from this address: a later
        // start may get in.
        why = "room '" + room_ + "'";
        break;
    case proto::ErrorCode::Unavailable:
        // The server cannot reach the shared room state (several servers share rooms
        // through Redis): not a refusal. Ask again, less often each time (1 s .. 8 s).
        g_message("server error %s: %s", code, e.message.c_str());
        if (!joined_) {
            unsigned delay = 1000u << std::min(unavailable_, 3u);
            ++unavailable_;
            out.push_back(action::Rejoin{delay});
        }
        return;
    default:
        // unknown-peer: they left while our message was in flight; the rest are bugs on
        // one side or the other, worth a log line but not worth ending the call.
        g_message("server error %s: %s", code, e.message.c_str());
        return;
    }
    out.push_back(action::Emit{events::error(code, e.message)});
    out.push_back(action::Exit{exit_code, why + ": " + e.message, code});
}

} // namespace duet::peer

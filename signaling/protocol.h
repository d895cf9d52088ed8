// SPDX-License-Identifier: MIT
// The duet room protocol: every message as a type, with JSON parsing, validation and output.
#pragma once

#include "common/result.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace duet::proto {

// Limits shared by client and server. A room name is a human label, 64 code points is plenty.
inline constexpr std::size_t kMaxRoomChars = 64;

// WebSocket close code (private range 4000-4999) the server sends to a connection whose
// seat a newer connection resumed with the same token. A client must not reconnect on
// it, or two tabs (or two duet-peers) holding one token would take the seat from each
// other forever. web/protocol.js mirrors it as CLOSE_REPLACED.
inline constexpr std::uint16_t kCloseSeatReplaced = 4001;

// The largest --max-message-size duet-server accepts. A client must take any message the
// server may relay: up to this, plus the relay's envelope ({"type":"signal","from":...}).
inline constexpr std::size_t kMaxMessageCeiling = 1024 * 1024;
inline constexpr std::size_t kRelayEnvelopeBytes = 1024;

enum class ErrorCode {
    BadMessage,
    UnknownType,
    InvalidRoom,
    RoomFull,
    AlreadyJoined,
    NotJoined,
    UnknownPeer,
    PrivateRoom,    // a private room, and no key or the wrong one
    RoomNotPrivate, // asked to make a room private that exists and is open
    TooManyAttempts, // too many wrong keys (or knocks after a decline) from this address
    Declined,        // someone in the room declined to let us in
    LobbyTimeout,    // nobody in the room answered in time, or everyone left
    Unavailable      // the server cannot reach the room service (Redis): try again soon
};
// (An oversized message or a flood is not answered with an `error`: the connection is
// closed with 1009 or 1008, see docs/PROTOCOL.md.)
// Wire name, e.g. "room-full".
const char *error_code_name(ErrorCode code);
std::optional<ErrorCode> error_code_from_name(std::string_view name);

enum class LeaveReason { Left, Dropped, Expired };
const char *leave_reason_name(LeaveReason r);

// A private room's key (docs/PROTOCOL.md, "Private rooms"): what the share link carries
// after `#key=`. Keys are kMinKeyChars..kMaxKeyChars of [A-Za-z0-9_-]; the server's own
// are 32 hex digits (128 random bits).
inline constexpr std::size_t kMinKeyChars = 32;
inline constexpr std::size_t kMaxKeyChars = 128;
// True when `key` has the characters and length a key may have.
bool valid_key(std::string_view key);

// ---- client -> server ----
struct Join {
    std::string room;
    std::optional<std::string> resume;
    // Create the room private (ignored when it exists and is private already).
    bool make_private = false;
    // The room's key: needed to enter a private room; when creating one, the key to use
    // (the server makes one when absent).
    std::optional<std::string> key;
    // How the others see us (an `admit-request` shows it); same rules as room names.
    std::optional<std::string> name;
};
struct Signal {
    std::string to;
    // A JSON object, opaque to the server: parse_client keeps the bytes as they arrived
    // (white space included), checked to be strict JSON, and the relay passes them on.
    std::string data_json;
};
struct Leave {};
// "Ask before anyone joins" on or off, for the sender's room.
struct SetLobby {
    bool on = false;
};
// Let in, or turn away, the person waiting as `id` (an admit-request's id).
struct Admit {
    std::string id;
};
struct Decline {
    std::string id;
};
using ClientMessage = std::variant<Join, Signal, Leave, SetLobby, Admit, Decline>;

// ---- server -> client ----
struct Joined {
    std::string id;
    std::string room;
    std::vector<std::string> peers;
    std::string resume;
    bool resumed = false;
    std::string ice_servers_json = "[]"; // a JSON array of RTCIceServer objects
    bool is_private = false;
    std::string key; // to whoever created a private room, so it can share the link
    bool lobby = false; // newcomers ask before they join
    // (id, display name) of the members in `peers` that gave a name; `names` on the wire,
    // an object, so clients that know only `peers` keep working.
    std::vector<std::pair<std::string, std::string>> names;
};
struct PeerJoined {
    std::string id;
    bool resumed = false;
    std::string name; // the newcomer's display name; empty when it gave none
};
struct PeerLeft {
    std::string id;
    LeaveReason reason = LeaveReason::Left;
};
struct Relayed {
    std::string from;
    std::string data_json;
};
struct Error {
    ErrorCode code;
    std::string message;
};
// The room's "ask before anyone joins" changed (to every member).
struct LobbyState {
    bool on = false;
};
// To a newcomer: you wait until someone in `room` lets you in. Says nothing of who is there.
struct Waiting {
    std::string room;
};
// To the members: `name` (may be empty) waits at the door as `id`.
struct AdmitRequest {
    std::string id;
    std::string name;
};
enum class AdmitOutcome { Admitted, Declined, TimedOut, Left };
const char *admit_outcome_name(AdmitOutcome o);
// To the members: the request `id` is settled (stop ringing, drop the buttons).
struct AdmitResolved {
    std::string id;
    AdmitOutcome outcome = AdmitOutcome::Admitted;
};
using ServerMessage = std::variant<Joined, PeerJoined, PeerLeft, Relayed, Error, LobbyState,
                                   Waiting, AdmitRequest, AdmitResolved>;

// Why a frame was refused. `code` is BadMessage or UnknownType.
struct ParseError {
    ErrorCode code;
    std::string message;
};

template <typename T> using Parsed = std::variant<T, ParseError>;

Parsed<ClientMessage> parse_client(std::string_view text);
// parse_client as it was before its fast path (signaling/json_scan.h): json-glib for every
// message, which is more lenient than JSON. It words parse_client's refusals; the fuzzer
// (tests/fuzz/fuzz_protocol.cpp) compares the two.
Parsed<ClientMessage> parse_client_json_glib(std::string_view text);
// Why json-glib and the checks around it refuse `text` as a JSON object; empty if they
// take it.
std::string json_glib_object_problem(std::string_view text);
Parsed<ServerMessage> parse_server(std::string_view text);
std::string to_json(const ClientMessage &m);
std::string to_json(const ServerMessage &m);

// Appends `s` to `out` as a JSON string literal (quoted, with escapes).
void append_json_string(std::string &out, std::string_view s);

// Room names (signaling/room_name.cpp, docs/PROTOCOL.md): valid UTF-8, normalised to NFC,
// trimmed of white space, then 1..kMaxRoomChars code points with no control characters, no
// bidi embedding/override/isolate controls, and at least one visible character. Returns
// the normalised name (the room's identity), or a human reason why the name is refused.
Result<std::string> normalize_room(std::string_view raw);

// ---- the `data` payload of signal messages ----
struct SdpData {
    std::string type; // "offer" | "answer"
    std::string sdp;
};
struct CandidateData {
    std::string candidate;
    unsigned mline_index = 0;
    std::string mid;
};
using SignalData = std::variant<SdpData, CandidateData>;

// The SDP or ICE candidate a signal message carries, or why it is neither.
Result<SignalData> parse_signal_data(std::string_view json);
std::string to_json(const SignalData &d);

} // namespace duet::proto

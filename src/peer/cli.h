// SPDX-License-Identifier: MIT
// duet-peer's options (one table in cli.cpp): flags and --config into PeerOptions.
#pragma once

#include "common/result.h"
#include "pipelines/media_options.h"

#include <optional>
#include <string>
#include <vector>


namespace duet::peer {

inline constexpr const char *kDefaultServer = "ws://127.0.0.1:8080/ws";
// Once a second: a rate over one second is what people read as "fps", and one line per
// peer per second is little enough to leave on in a kiosk's journal.
inline constexpr int kDefaultStatsIntervalMs = 1000;

struct PeerOptions {
    std::string room; // normalised (trimmed) room name
    std::string server = kDefaultServer;
    pipelines::MediaOptions media;
    bool events = false;
    int stats_interval_ms =
        kDefaultStatsIntervalMs;    // `stats` event period with --events; 0: no stats events
    int duration_s = 0;             // 0: run until a signal
    int connect_timeout_s = 0;      // 0: keep retrying the server forever
    std::string state_dir;          // where the resume token is kept; "" = default_state_dir()
    std::string ca_file;            // PEM CA bundle trusted for wss://; "" = the system's
    std::string stun;               // stun://host:port from --stun, or ""
    std::vector<std::string> turns; // turn(s)://user:pass@host:port from --turn
    bool relay_only = false;        // ICE uses relay (TURN) candidates only
    std::string room_key_file;      // --room-key-file: make the room private with this key
    bool admit_ask = false;         // --admit ask: newcomers ring and wait for `admit ID`
    std::string name;               // --name: our display name, normalised; "" = none
    // --control: bridge duet-control channels to a local program (docs/KIOSK.md).
    enum class Control { None, Unix, Stdio };
    Control control = Control::None;
    std::string control_path; // with Control::Unix
};

// args[0] is the program name; `--config FILE` reads group [peer], keys as the long flag
// names, and flags on the command line win. `--help` is handled by GLib (prints and exits
// 0). A failure is a usage error: print it and exit kExitUsage.
Result<PeerOptions> parse_cli(const std::vector<std::string> &args);

// "640x480" -> {640, 480}; nullopt if malformed or outside 16..4096.
std::optional<std::pair<int, int>> parse_size(const std::string &text);
// ws:// or wss:// with a host; anything else is a usage error with a reason.
Result<void> valid_server_url(const std::string &url);
// stun://host:port or stun:host:port -> stun://host:port; else a reason.
Result<std::string> parse_stun_uri(const std::string &uri);
// turn(s)://user:pass@host:port[?transport=udp|tcp], as webrtcbin takes it; else a reason.
Result<std::string> parse_turn_uri(const std::string &uri);
// A readable PEM file holding at least one certificate; else a reason.
Result<void> valid_ca_file(const std::string &path);

} // namespace duet::peer

// SPDX-License-Identifier: MIT
// A kiosk's private room (--room-key-file): the key kept in a file of its own, made on the
// first start, and the link that lets the owner's family in.
#pragma once

#include "common/result.h"

#include <string>

namespace duet::peer {

struct RoomKey {
    std::string key;
    bool created = false; // made now: the owner has not seen its link yet
};

// Reads the key in `path`, or, when there is no such file, makes a fresh 128-bit key and
// writes it there with mode 0600 (the folder must exist: systemd's StateDirectory, say).
// A file that holds no valid key is an error, never overwritten.
Result<RoomKey> load_or_create_room_key(const std::string &path);

// The browser link into `room` on the server at `ws_url` (ws:// -> http://, wss:// ->
// https://, the path's last segment dropped), with the key in the fragment.
std::string share_link(const std::string &ws_url, const std::string &room, const std::string &key);

} // namespace duet::peer

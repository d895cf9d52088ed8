// SPDX-License-Identifier: MIT
// duet-peer's exit codes, as documented in docs/KIOSK.md (systemd units and scripts rely on them).
#pragma once

namespace duet::peer {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRoomFull = 3; // do not restart: someone else has the seat
// Do not restart: the room is private and our key (--room-key-file) is not its key, or we
// asked for a private room whose name an open room already has.
inline constexpr int kExitRefused = 4; // also: declined at the door of a room with a lobby

} // namespace duet::peer

// SPDX-License-Identifier: MIT
// duet-peer's exit codes, as documented in docs/KIOSK.md (systemd units and scripts rely on them).
#pragma once

namespace duet::peer {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRoomFull = 3; // do not restart: someone else has the seat

} // namespace duet::peer

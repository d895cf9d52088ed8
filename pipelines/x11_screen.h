// SPDX-License-Identifier: MIT
// Reads the X11 screen size (kept apart: Xlib's macros clash with ordinary C++ names).
#pragma once

namespace duet::pipelines {
// False without an X server (or when built without libX11).
bool x11_screen_size(int *width, int *height);
} // namespace duet::pipelines

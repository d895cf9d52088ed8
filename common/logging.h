// SPDX-License-Identifier: MIT
// Routes every GLib log line to stderr, keeping stdout for machine-readable output.
#pragma once

namespace duet {

// GLib's default writer sends info and debug messages to stdout, where they would mix
// with `--events` JSON lines. This writer keeps G_MESSAGES_DEBUG semantics but always
// writes to stderr. When stderr is the journal's stream (a systemd service), entries go
// to journald as structured entries instead, as GLib's default writer does. Call once at
// the start of main().
void log_to_stderr();

} // namespace duet

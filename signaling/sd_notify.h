// SPDX-License-Identifier: MIT
// systemd readiness and watchdog notifications, without linking libsystemd.
#pragma once

#include <glib.h>

namespace duet {

// Sends a state string ("READY=1", "WATCHDOG=1", ...) to $NOTIFY_SOCKET. A no-op outside
// systemd. Returns false only if the socket is set but the send failed.
bool sd_notify_state(const char *state);

// If systemd asked for a watchdog ($WATCHDOG_USEC), pings it at half the interval from
// the given main context, so a wedged main loop gets the service restarted. With a
// `healthy` check, a ping is sent only while it returns true (it gets the watchdog
// interval, in microseconds, as the grace a failure may last).
void sd_watchdog_start(GMainContext *ctx, bool (*healthy)(gint64 interval_us, gpointer) = nullptr,
                       gpointer data = nullptr);

} // namespace duet

// SPDX-License-Identifier: MIT
// Lines from a file descriptor (standard input), read on the main loop as they come.
#pragma once

#include <glib.h>

#include <functional>
#include <string>

namespace duet::peer {

class LineInput {
  public:
    using OnLine = std::function<void(const std::string &line)>;
    // Watches `fd` (not closed here) until end of file or an error.
    LineInput(int fd, OnLine on_line);
    ~LineInput();
    LineInput(const LineInput &) = delete;
    LineInput &operator=(const LineInput &) = delete;

  private:
    static gboolean on_readable(GIOChannel *ch, GIOCondition cond, gpointer self);

    GIOChannel *channel_ = nullptr;
    guint watch_ = 0;
    OnLine on_line_;
};

} // namespace duet::peer

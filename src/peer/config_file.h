// SPDX-License-Identifier: MIT
// duet-peer's --config: a GLib key-file whose [peer] keys are the long flag names.
#pragma once

#include <string>
#include <vector>

namespace duet::peer {

// Returns args with any `--config FILE` / `--config=FILE` replaced by the file's settings
// as flags, placed before the command line's own flags so that those win. Keys are long
// flag names without dashes; `true`/`false` for switches; `;`-separated lists repeat a
// flag. Returns false with *why on an unreadable file.
bool expand_config_file(const std::vector<std::string> &args, std::vector<std::string> *out,
                        std::string *why);

} // namespace duet::peer

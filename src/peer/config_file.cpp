// SPDX-License-Identifier: MIT
// Expands --config FILE into flags, so kiosks keep their settings in one file.
#include "config_file.h"

#include <glib.h>

#include <memory>

namespace duet::peer {

bool expand_config_file(const std::vector<std::string> &args, std::vector<std::string> *out,
                        std::string *why) {
    std::vector<std::string> rest;
    std::string path;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string &a = args[i];
        if (a == "--config") {
            if (i + 1 >= args.size()) {
                *why = "--config needs a file name";
                return false;
            }
            path = args[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            path = a.substr(9);
        } else {
            rest.push_back(a);
        }
    }
    out->clear();
    if (!rest.empty())
        out->push_back(rest[0]);
    if (!path.empty()) {
        std::unique_ptr<GKeyFile, decltype(&g_key_file_free)> kf(g_key_file_new(), g_key_file_free);
        GError *err = nullptr;
        if (!g_key_file_load_from_file(kf.get(), path.c_str(), G_KEY_FILE_NONE, &err)) {
            *why = "--config " + path + ": " + err->message;
            g_error_free(err);
            return false;
        }
        gsize n = 0;
        gchar **keys = g_key_file_get_keys(kf.get(), "peer", &n, nullptr);
        for (gsize k = 0; keys && k < n; ++k) {
            gchar **values =
                g_key_file_get_string_list(kf.get(), "peer", keys[k], nullptr, nullptr);
            for (gchar **v = values; v && *v; ++v) {
                std::string value = g_strstrip(*v);
                if (value == "false")
                    continue;
                out->push_back(value == "true" ? "--" + std::string(keys[k])
                                               : "--" + std::string(keys[k]) + "=" + value);
            }
            g_strfreev(values);
        }
        g_strfreev(keys);
    }
    for (std::size_t i = 1; i < rest.size(); ++i)
        out->push_back(rest[i]);
    return true;
}

} // namespace duet::peer

// SPDX-License-Identifier: MIT
// A scratch folder for a test: made under the system's temp dir, removed with the files
// directly in it when the object goes.
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

#include <string>

namespace duet::testing {

struct TempDir {
    std::string path;
    explicit TempDir(const char *pattern = "duet-test-XXXXXX") {
        gchar *dir = g_dir_make_tmp(pattern, nullptr);
        g_assert_nonnull(dir);
        path = dir;
        g_free(dir);
    }
    ~TempDir() {
        GDir *d = g_dir_open(path.c_str(), 0, nullptr);
        while (const char *n = d ? g_dir_read_name(d) : nullptr)
            g_remove((path + "/" + n).c_str());
        if (d)
            g_dir_close(d);
        g_rmdir(path.c_str());
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    // `name` inside it, as an empty file.
    void touch(const char *name) const {
        g_assert_true(g_file_set_contents((path + "/" + name).c_str(), "", 0, nullptr));
    }
};

} // namespace duet::testing

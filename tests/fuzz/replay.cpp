// SPDX-License-Identifier: MIT
// Replays saved fuzz inputs through a target's LLVMFuzzerTestOneInput in any build (gcc
// included): the seed corpus and every crash saved under tests/fuzz/regressions/ run in
// each `meson test`, so a fixed crash stays fixed. A target aborts on a broken invariant.
#include <glib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size);

namespace {

// Feeds every regular file in `dir` to the target; returns how many, or -1 if unreadable.
int replay_dir(const char *dir) {
    GError *err = nullptr;
    GDir *d = g_dir_open(dir, 0, &err);
    if (!d) {
        std::fprintf(stderr, "replay: %s\n", err->message);
        g_error_free(err);
        return -1;
    }
    // Sorted, so a failing run names the same input every time.
    std::vector<std::string> names;
    while (const char *name = g_dir_read_name(d))
        if (name[0] != '.' && g_strcmp0(name, "README") != 0)
            names.emplace_back(name);
    g_dir_close(d);
    std::sort(names.begin(), names.end());
    for (const auto &name : names) {
        gchar *path = g_build_filename(dir, name.c_str(), nullptr);
        gchar *bytes = nullptr;
        gsize len = 0;
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR) &&
            g_file_get_contents(path, &bytes, &len, nullptr)) {
            // Printed first: if the target aborts, the log says which input did it.
            std::printf("replay %s (%zu bytes)\n", path, std::size_t(len));
            std::fflush(stdout);
            LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t *>(bytes), len);
            g_free(bytes);
        }
        g_free(path);
    }
    return int(names.size());
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DIR...\n", argv[0]);
        return 2;
    }
    int total = 0;
    for (int i = 1; i < argc; ++i) {
        int n = replay_dir(argv[i]);
        if (n < 0)
            return 1;
        total += n;
    }
    std::printf("replayed %d inputs without a failure\n", total);
    // An empty corpus would make this test pass without testing anything.
    return total > 0 ? 0 : 1;
}

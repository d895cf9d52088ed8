// SPDX-License-Identifier: MIT
// duet's log writer (common/logging.h): lines on stderr, never stdout, and to journald
// when stderr is the journal's stream, as under a systemd unit.
#include "common/logging.h"

#include <glib.h>
#include <sys/stat.h>

#include <string>

namespace {

// Info goes to stderr like everything else; stdout stays free for --events.
void test_stderr_not_stdout() {
    if (g_test_subprocess()) {
        g_setenv("G_MESSAGES_DEBUG", "all", TRUE);
        g_unsetenv("JOURNAL_STREAM");
        duet::log_to_stderr();
        g_message("a message line");
        g_info("an info line");
        return;
    }
    g_test_trap_subprocess(nullptr, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("");
    g_test_trap_assert_stderr("*a message line*an info line*");
}

// With JOURNAL_STREAM naming stderr (what systemd sets for a unit whose output goes to
// the journal), an entry goes to journald; where no journald listens, to stderr after all.
void test_journal_stream() {
    const bool journald = g_file_test("/run/systemd/journal/socket", G_FILE_TEST_EXISTS);
    if (g_test_subprocess()) {
        struct stat st;
        g_assert_cmpint(fstat(2, &st), ==, 0);
        std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
        g_setenv("JOURNAL_STREAM", stream.c_str(), TRUE);
        duet::log_to_stderr();
        g_message("duet test-logging: an entry for the journal");
        return;
    }
    g_test_trap_subprocess(nullptr, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("");
    if (journald)
        g_test_trap_assert_stderr_unmatched("*an entry for the journal*");
    else
        g_test_trap_assert_stderr("*an entry for the journal*");
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/logging/stderr-not-stdout", test_stderr_not_stdout);
    g_test_add_func("/logging/journal-stream", test_journal_stream);
    return g_test_run();
}

// SPDX-License-Identifier: MIT
// The option engine both programs declare their flags with (common/options.h).
#include "common/options.h"

#include "tests/check_str.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include <string>
#include <vector>

using namespace duet::options;

namespace {

struct Demo {
    int n = 3, off = 1000;
    std::string s = "default", path;
    std::vector<std::string> list;
    bool on = false;
    int mode = 0;
};

std::vector<Option> table(Demo &d) {
    return {
        integer("n", 1, 10, "A small number (default 3)", "N", into(d.n)).with_short('n'),
        integer("off", 100, 60000, "A period", "MS", into(d.off))
            .with_unit("ms")
            .with_zero_meaning("off"),
        text("s", "Some text", "TEXT",
             [&d](const Value &v) -> duet::Result<void> {
                 if (v.text == "bad")
                     return duet::fail("--s must not be bad");
                 d.s = v.text;
                 return {};
             }),
        filename("path", "A file", "FILE", into(d.path)),
        list("l", "Repeatable", "ITEM", into(d.list)),
        flag("on", "A switch", into(d.on)),
        choice("mode", {"auto", "camera", "test"}, "How", into(d.mode)),
    };
}

const Program kDemo{"demo", "- a demonstration", "Shows the option engine."};

duet::Result<Demo> parse_demo(std::vector<std::string> args) {
    args.insert(args.begin(), "demo");
    Demo d;
    auto r = parse(kDemo, table(d), args);
    if (!r)
        return r.error();
    return d;
}

std::string message_of(std::vector<std::string> args) {
    auto r = parse_demo(std::move(args));
    g_assert_false(r.ok());
    return r.message();
}

// Writes a key-file; returns its path (the caller removes it).
std::string key_file(const std::string &text) {
    gchar *path = nullptr;
    gint fd = g_file_open_tmp("duet-options-XXXXXX.conf", &path, nullptr);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(g_file_set_contents(path, text.c_str(), -1, nullptr));
    std::string out = path;
    g_free(path);
    return out;
}

void test_defaults_and_every_kind() {
    auto none = parse_demo({});
    g_assert_true(none.ok());
    g_assert_cmpint(none->n, ==, 3);
    check_str_eq(none->s, "default");
    auto all = parse_demo({"-n", "7", "--off=250", "--s", "x", "--path", "/tmp/p", "--l", "a",
                           "--l", "b", "--on", "--mode", "test"});
    if (!all)
        g_printerr("%s\n", all.message().c_str());
    g_assert_true(all.ok());
    g_assert_cmpint(all->n, ==, 7);
    g_assert_cmpint(all->off, ==, 250);
    check_str_eq(all->s, "x");
    check_str_eq(all->path, "/tmp/p");
    g_assert_cmpuint(all->list.size(), ==, 2);
    check_str_eq(all->list[1], "b");
    g_assert_true(all->on);
    g_assert_cmpint(all->mode, ==, 2);
    // A scalar given twice: the last one counts, as with GOption's own kinds.
    g_assert_cmpint(parse_demo({"--n", "2", "--n", "4"})->n, ==, 4);
}

void test_ranges_and_types() {
    check_str_eq(message_of({"--n", "0"}), "--n must be 1..10");
    check_str_eq(message_of({"--n", "11"}), "--n must be 1..10");
    check_str_eq(message_of({"--n", "-1"}), "--n must be 1..10");
    check_str_eq(message_of({"--n", "abc"}), "--n: 'abc' is not a whole number");
    check_str_eq(message_of({"--n", "99999999999"}), "--n: '99999999999' is not a whole number");
    check_str_eq(message_of({"--n", ""}), "--n: '' is not a whole number");
    check_str_eq(message_of({"--off", "5"}), "--off must be 0 (off) or 100..60000 ms");
    g_assert_cmpint(parse_demo({"--off", "0"})->off, ==, 0);
    check_str_eq(message_of({"--mode", "webcam"}), "--mode must be auto, camera or test");
    check_str_eq(message_of({"--s", "bad"}), "--s must not be bad"); // the setter's word
    check_str_eq(message_of({"extra"}), "unexpected argument 'extra'");
    g_assert_true(message_of({"--nope"}).find("--nope") != std::string::npos);
    g_assert_true(message_of({"--n"}).find("--n") != std::string::npos); // no argument

    check_str_eq(range_message(integer("count", 0, G_MAXINT, "", "N", nullptr)),
                 "--count must be >= 0");
}

void test_required() {
    Demo d;
    auto t = table(d);
    t[2] = std::move(t[2]).as_required();
    auto r = parse(kDemo, t, {"demo"});
    g_assert_false(r.ok());
    check_str_eq(r.message(), "--s TEXT is required");
    g_assert_true(parse(kDemo, t, {"demo", "--s", "here"}).ok());
}

void test_key_file_and_precedence() {
    std::string conf = key_file("[demo]\nn=5\ns = from file \noff=0\non=true\nmode=camera\n"
                                "l=x; y;\n[other]\nwhatever=1\n");
    auto file = parse_demo({"--config", conf});
    if (!file)
        g_printerr("%s\n", file.message().c_str());
    g_assert_true(file.ok());
    g_assert_cmpint(file->n, ==, 5);
    check_str_eq(file->s, "from file"); // surrounding blanks go
    g_assert_cmpint(file->off, ==, 0);
    g_assert_true(file->on);
    g_assert_cmpint(file->mode, ==, 1);
    g_assert_cmpuint(file->list.size(), ==, 2);
    check_str_eq(file->list[1], "y");

    // The command line wins, wherever --config stands; a list given there replaces the file's.
    auto over = parse_demo({"--n", "9", "--l", "z", "--config=" + conf});
    g_assert_true(over.ok());
    g_assert_cmpint(over->n, ==, 9);
    check_str_eq(over->s, "from file");
    g_assert_cmpuint(over->list.size(), ==, 1);
    check_str_eq(over->list[0], "z");
    g_remove(conf.c_str());
}

void test_key_file_errors() {
    struct Case {
        const char *text, *expect;
    } cases[] = {
        {"[demo]\nnope=1\n", "unknown key 'nope' in [demo]"},
        {"[demo]\nn=abc\n", "--n: 'abc' is not a whole number"},
        {"[demo]\nn=50\n", "--n must be 1..10"},
        {"[demo]\non=yes\n", "--on: 'yes' is not true or false"},
        {"[demo]\ns=bad\n", "--s must not be bad"},
        {"[demo]\nmode=tv\n", "--mode must be auto, camera or test"},
    };
    for (const auto &c : cases) {
        std::string conf = key_file(c.text);
        std::string m = message_of({"--config", conf});
        // Says which file, then what is wrong with which key.
        check_str_eq(m, "--config " + conf + ": " + c.expect);
        g_remove(conf.c_str());
    }
    // The command line's value is the one checked; the file's is never read.
    std::string conf = key_file("[demo]\nn=abc\n");
    g_assert_cmpint(parse_demo({"--config", conf, "--n", "2"})->n, ==, 2);
    g_remove(conf.c_str());

    g_assert_true(message_of({"--config", "/nonexistent/x.conf"})
                      .starts_with("cannot read --config /nonexistent/x.conf: "));
    check_str_eq(message_of({"--config="}), "--config needs a file name");
    g_assert_true(message_of({"--config"}).find("--config") != std::string::npos);
    std::string broken = key_file("not a key file\n");
    g_assert_true(message_of({"--config", broken}).starts_with("cannot read --config"));
    g_remove(broken.c_str());
}

void test_help() {
    Demo d;
    std::string help = help_text(kDemo, table(d));
    for (const char *want :
         {"-n, --n=N", "A small number (default 3)", "--off=MS", "--on", "--mode=auto|camera|test",
          "--config=FILE", "[demo] group", "Shows the option engine.", "- a demonstration"})
        if (help.find(want) == std::string::npos)
            g_error("--help lacks '%s':\n%s", want, help.c_str());
    // --help prints and exits 0, before anything is checked.
    if (g_test_subprocess()) {
        auto r = parse_demo({"--n", "0", "--help"});
        (void)r;
        return;
    }
    g_test_trap_subprocess(nullptr, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("*--config=FILE*");
}

// The man page's OPTIONS section: every row, with what --help does not say (ranges,
// repeats, the key-file form), in roff that shows flags and text literally.
void test_man() {
    Demo d;
    std::string man = man_options(kDemo, table(d));
    for (const char *want :
         {".TP\n\\fB\\-n\\fR, \\fB\\-\\-n\\fR \\fIN\\fR\nA small number (default 3). Allowed: 1..10.\n",
          "\\fB\\-\\-off\\fR \\fIMS\\fR\nA period. Allowed: 0 (off) or 100..60000 ms.\n",
          "\\fB\\-\\-mode\\fR \\fIauto|camera|test\\fR\nHow. One of: auto, camera or test.\n",
          "\\fB\\-\\-on\\fR\nA switch. In the key\\-file: on=true.\n",
          "\\fB\\-\\-l\\fR \\fIITEM\\fR\nRepeatable. May be given more than once",
          "\\fB\\-\\-config\\fR \\fIFILE\\fR\nRead settings from a GLib key\\-file: group [demo]",
          "\\fB\\-h\\fR, \\fB\\-\\-help\\fR\n"})
        if (man.find(want) == std::string::npos)
            g_error("man page lacks '%s':\n%s", want, man.c_str());
    // A line of help that roff would take for a request is escaped; so are backslashes.
    std::vector<Option> tricky{text("dot", ".starts with a dot\n'quoted' start, C:\\x", "X",
                                    [](const Value &) -> duet::Result<void> { return {}; })};
    std::string t = man_options(kDemo, tricky);
    g_assert_true(t.find("\\&.starts with a dot\n\\&'quoted' start, C:\\ex.\n") != std::string::npos);
    for (std::size_t at = 0; (at = t.find('\n', at)) != std::string::npos; ++at) {
        bool request = t[at + 1] == '.' || t[at + 1] == '\'';
        g_assert_true(!request || t.compare(at + 1, 4, ".TP\n") == 0);
    }
    // --help-man is hidden from --help, and prints the section and exits 0 before checks.
    g_assert_true(help_text(kDemo, table(d)).find("help-man") == std::string::npos);
    if (g_test_subprocess()) {
        auto r = parse_demo({"--n", "0", "--help-man"});
        (void)r;
        return;
    }
    g_test_trap_subprocess(nullptr, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("*.TP*\\-\\-mode*\\-\\-config*");
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/options/every-kind", test_defaults_and_every_kind);
    g_test_add_func("/options/ranges-and-types", test_ranges_and_types);
    g_test_add_func("/options/required", test_required);
    g_test_add_func("/options/key-file", test_key_file_and_precedence);
    g_test_add_func("/options/key-file-errors", test_key_file_errors);
    g_test_add_func("/options/help", test_help);
    g_test_add_func("/options/man", test_man);
    return g_test_run();
}

// SPDX-License-Identifier: MIT
// String assertion for tests that keeps temporaries alive (g_assert_cmpstr does not).
#pragma once

#include <glib.h>

#include <string>

// g_assert_cmpstr stores its arguments as const char* first, so `f().c_str()` would dangle
// once the temporary std::string or std::optional is gone; copying into locals avoids that.
#define check_str(a, op, b)                                                                        \
    do {                                                                                           \
        const std::string check_str_a_(a);                                                         \
        const std::string check_str_b_(b);                                                         \
        g_assert_cmpstr(check_str_a_.c_str(), op, check_str_b_.c_str());                           \
    } while (0)

#define check_str_eq(a, b) check_str(a, ==, b)

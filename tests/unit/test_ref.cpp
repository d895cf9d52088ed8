// SPDX-License-Identifier: MIT
// Ref<T> and Owned<T> (common/ref.h): adopt versus ref, floating refs, copy and move.
#include "common/ref.h"

#include <glib-object.h>

#include <utility>

using duet::GErr;
using duet::Owned;
using duet::Ref;

namespace {

guint refcount(gpointer o) {
    return G_OBJECT(o)->ref_count;
}

void test_adopt_does_not_add() {
    GObject *raw = G_OBJECT(g_object_new(G_TYPE_OBJECT, nullptr));
    g_object_add_weak_pointer(raw, reinterpret_cast<gpointer *>(&raw));
    {
        auto r = Ref<GObject>::adopt(raw);
        g_assert_cmpuint(refcount(raw), ==, 1);
    }
    g_assert_null(raw); // the only reference went with the Ref
}

void test_ref_adds() {
    auto owner = Ref<GObject>::adopt(G_OBJECT(g_object_new(G_TYPE_OBJECT, nullptr)));
    {
        auto second = Ref<GObject>::ref(owner.get());
        g_assert_cmpuint(refcount(owner.get()), ==, 2);
    }
    g_assert_cmpuint(refcount(owner.get()), ==, 1);
}

void test_floating_is_sunk() {
    // ref() of a floating object claims the floating reference instead of adding one.
    GObject *f = G_OBJECT(g_object_new(G_TYPE_INITIALLY_UNOWNED, nullptr));
    g_assert_true(g_object_is_floating(f));
    auto r = Ref<GObject>::ref(f);
    g_assert_false(g_object_is_floating(f));
    g_assert_cmpuint(refcount(f), ==, 1);

    // adopt() of a floating object does the same: the count stays 1, the flag goes.
    GObject *g = G_OBJECT(g_object_new(G_TYPE_INITIALLY_UNOWNED, nullptr));
    auto a = Ref<GObject>::adopt(g);
    g_assert_false(g_object_is_floating(g));
    g_assert_cmpuint(refcount(g), ==, 1);
}

void test_copy_refs_move_empties() {
    auto a = Ref<GObject>::adopt(G_OBJECT(g_object_new(G_TYPE_OBJECT, nullptr)));
    GObject *raw = a.get();
    Ref<GObject> b = a;
    g_assert_true(b.get() == raw);
    g_assert_cmpuint(refcount(raw), ==, 2);
    Ref<GObject> c = std::move(a);
    g_assert_false(a);
    g_assert_true(c.get() == raw);
    g_assert_cmpuint(refcount(raw), ==, 2);
    b.reset();
    g_assert_cmpuint(refcount(raw), ==, 1);
    GObject *back = c.release();
    g_assert_false(c);
    g_assert_cmpuint(refcount(back), ==, 1);
    g_object_unref(back);
}

void test_out_param() {
    auto holder = Ref<GObject>::adopt(G_OBJECT(g_object_new(G_TYPE_OBJECT, nullptr)));
    Ref<GObject> r;
    // A transfer-full out-parameter, as g_object_get of an object property gives.
    *r.out() = G_OBJECT(g_object_ref(holder.get()));
    g_assert_cmpuint(refcount(holder.get()), ==, 2);
    r.out(); // drops the old one before the next fill
    g_assert_null(r.get());
    g_assert_cmpuint(refcount(holder.get()), ==, 1);
}

void test_owned() {
    Owned<gchar> s(g_strdup("hello"));
    g_assert_cmpstr(s.get(), ==, "hello");
    Owned<gchar> t = std::move(s);
    g_assert_null(s.get());
    g_assert_cmpstr(t.get(), ==, "hello");

    GErr err;
    g_assert_false(err);
    g_assert_cmpstr(err.message(), ==, "");
    g_set_error_literal(err.out(), G_FILE_ERROR, G_FILE_ERROR_FAILED, "first");
    g_assert_cmpstr(err.message(), ==, "first");
    // out() frees the previous error, as g_clear_error would.
    g_set_error_literal(err.out(), G_FILE_ERROR, G_FILE_ERROR_FAILED, "second");
    g_assert_cmpstr(err.message(), ==, "second");
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/ref/adopt-does-not-add", test_adopt_does_not_add);
    g_test_add_func("/ref/ref-adds", test_ref_adds);
    g_test_add_func("/ref/floating-is-sunk", test_floating_is_sunk);
    g_test_add_func("/ref/copy-refs-move-empties", test_copy_refs_move_empties);
    g_test_add_func("/ref/out-param", test_out_param);
    g_test_add_func("/owned/free-and-move", test_owned);
    return g_test_run();
}

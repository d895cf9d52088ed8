// SPDX-License-Identifier: MIT
// Screen size of $DISPLAY's default screen, for scaling the remote picture to fill it.
#include "pipelines/x11_screen.h"

#ifdef DUET_HAVE_X11
#include <X11/Xlib.h>
#endif

namespace duet::pipelines {

bool x11_screen_size(int *width, int *height) {
#ifdef DUET_HAVE_X11
    Display *d = XOpenDisplay(nullptr);
    if (!d)
        return false;
    Screen *s = DefaultScreenOfDisplay(d);
    *width = WidthOfScreen(s);
    *height = HeightOfScreen(s);
    XCloseDisplay(d);
    return *width > 0 && *height > 0;
#else
    (void)width;
    (void)height;
    return false;
#endif
}

} // namespace duet::pipelines

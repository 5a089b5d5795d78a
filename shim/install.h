/* install.h - `keyshim install DIR`: put this very binary at DIR/keyshim,
 * so an image that has no keyshim can run it from a shared volume. */
#ifndef KEYSHIM_INSTALL_H
#define KEYSHIM_INSTALL_H

/* Copy /proc/self/exe to DIR/keyshim, mode 0755, replacing it atomically. */
void install_self(const char *dir);

#endif

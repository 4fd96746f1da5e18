// libpng 1.6 (Debian libpng-dev): the simplified write API (no setjmp needed).
#include <png.h>

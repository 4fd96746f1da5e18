// zlib (Debian zlib1g-dev): raw deflate streams and CRC-32 for the parallel gzip writer.
#include <zlib.h>

// OpenBLAS (Debian libopenblas-dev): CBLAS interface and thread control.
#include <cblas.h>

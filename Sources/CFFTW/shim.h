// FFTW 3 (Debian libfftw3-dev), single precision (fftwf_*).
#include <fftw3.h>

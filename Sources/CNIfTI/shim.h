// libnifti (Debian libnifti2-dev). nifti2_io.h includes <znzlib.h> with angle
// brackets, so importers need -I/usr/include/nifti (see Package.swift).
#include <nifti/nifti2_io.h>

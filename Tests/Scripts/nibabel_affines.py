#!/usr/bin/env python3
"""Print, as JSON, what nibabel makes of NIfTI files: the cross-check for stnreg's reader.

Usage: nibabel_affines.py FILE [FILE ...]

For each file: nibabel's chosen affine (img.affine, 4x4 row-major lists), sform and qform
codes, shape, on-disk dtype, and the sum and first values of get_fdata() (scaling applied).
Exit status 2 with a message naming `pip install nibabel` when nibabel is missing.
"""
import json
import sys

try:
    import nibabel as nib
    import numpy as np
except ImportError as e:  # pragma: no cover - the message is the point
    sys.stderr.write(f"nibabel_affines.py: {e}; install it with: pip install nibabel\n")
    sys.exit(2)


def describe(path):
    img = nib.load(path)
    hdr = img.header
    data = img.get_fdata(dtype=np.float64)  # scl_slope / scl_inter applied
    return {
        "path": path,
        "affine": np.asarray(img.affine, dtype=float).tolist(),
        "sform_code": int(hdr["sform_code"]),
        "qform_code": int(hdr["qform_code"]),
        "shape": [int(s) for s in img.shape],
        "dtype": str(hdr.get_data_dtype().newbyteorder("=")),
        "big_endian": hdr.endianness == ">",
        "sizeof_hdr": int(hdr["sizeof_hdr"]),
        "data_sum": float(np.nansum(data)),
        "first_values": [float(v) for v in data.ravel(order="F")[:8]],
    }


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 1
    print(json.dumps([describe(p) for p in argv[1:]]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

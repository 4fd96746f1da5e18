#!/usr/bin/env python3
"""Print, as JSON, what independent readers make of .nii / .nii.gz files stnreg wrote.

Usage: read_written.py FILE [FILE ...]

For each file: nibabel (shape, on-disk dtype, affine, sum and first values of get_fdata()),
SimpleITK (size, sum, spacing), and for gzip files Python's zlib (the number of gzip members,
that the stream ends cleanly with its CRC-32 and size checked, and the decompressed length)
and GNU gzip (`gzip -t`). Exit status 2 naming the pip package when one is missing.
"""
import json
import subprocess
import sys
import zlib

try:
    import nibabel as nib
    import numpy as np
    import SimpleITK as sitk
except ImportError as e:  # pragma: no cover - the message is the point
    sys.stderr.write(f"read_written.py: {e}; install it with: pip install nibabel SimpleITK\n")
    sys.exit(2)


def gzip_members(raw):
    """(members, total decompressed bytes); raises zlib.error on a bad stream or checksum."""
    members, total = 0, 0
    while raw:
        d = zlib.decompressobj(wbits=31)
        total += len(d.decompress(raw)) + len(d.flush())
        if not d.eof:
            raise zlib.error("stream ends before the end of a gzip member")
        members += 1
        raw = d.unused_data
    return members, total


def describe(path):
    img = nib.load(path)
    data = img.get_fdata(dtype=np.float64)
    s = sitk.ReadImage(path)
    arr = sitk.GetArrayViewFromImage(s)
    out = {
        "path": path,
        "nibabel_shape": [int(x) for x in img.shape],
        "nibabel_dtype": str(img.get_data_dtype()),
        "nibabel_affine": np.asarray(img.affine, dtype=float).tolist(),
        "nibabel_sum": float(data.sum()),
        "nibabel_first_values": [float(v) for v in data.reshape(-1, order="F")[:8]],
        "sitk_size": [int(x) for x in s.GetSize()],
        "sitk_sum": float(np.asarray(arr, dtype=np.float64).sum()),
        "sitk_spacing": [float(x) for x in s.GetSpacing()],
        "gzip_members": 0,
        "gzip_bytes": 0,
        "gzip_tool_ok": True,
    }
    if path.endswith(".gz"):
        with open(path, "rb") as f:
            out["gzip_members"], out["gzip_bytes"] = gzip_members(f.read())
        out["gzip_tool_ok"] = subprocess.run(["gzip", "-t", path], capture_output=True).returncode == 0
    return out


print(json.dumps([describe(p) for p in sys.argv[1:]]))

#!/usr/bin/env python3
"""The README's measure profiles behind the basin stage: for a scan and its transform record,
the scan resampled into the 2 mm TestVolumes MNI152 at transforms on the line from the record's
`predictedAtlasToScan` (t = 0) to its `atlasToScan` (t = 1), entry by entry, and at each the
volume ratio det(atlasToScan) and, over the atlas foreground dilated by a voxel within the
scan's field of view: mutual information (32 bins), its normalised form, the correlation ratio
η², squared windowed NCC (7³) and normalised gradient fields (squared cosine, ε 0.05). Numpy
re-implementations for a look at the shape of each measure, not the product's code. Not run by
`swift test`.

    python3 Tests/Scripts/basin_profile.py SCAN.nii.gz RECORD_transform.json
"""
import json, sys, os
import numpy as np, nibabel as nib
from scipy.ndimage import map_coordinates, gaussian_filter, uniform_filter, binary_dilation, binary_fill_holes

atlas = nib.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../TestVolumes/mni152_t1_2mm.nii.gz'))
a = atlas.get_fdata().astype(np.float32)
scan = nib.load(sys.argv[1]); s = scan.get_fdata().astype(np.float32)
if s.ndim == 4: s = s[..., 0]
d = json.load(open(sys.argv[2]))
P, R = np.array(d['predictedAtlasToScan']), np.array(d['atlasToScan'])
zs = scan.header.get_zooms()[:3]
s = gaussian_filter(s, [max(0, 2.0 ** 2 - z ** 2) ** 0.5 / 2.355 / z for z in zs])   # to the 2 mm grid's resolution
s = s / np.percentile(s[s > np.percentile(s, 50)], 99)
a = a / np.percentile(a[a > 0], 99)
mask = binary_dilation(binary_fill_holes(a > 0.05), iterations=1)
ijk = np.indices(a.shape).reshape(3, -1)
w = atlas.affine @ np.vstack([ijk, np.ones(ijk.shape[1])])

def warp(m):
    v = np.linalg.inv(scan.affine) @ (m @ w)
    inside = np.all([(v[i] >= 0) & (v[i] <= s.shape[i] - 1) for i in range(3)], axis=0).reshape(a.shape)
    return map_coordinates(s, v[:3], order=1, cval=0).reshape(a.shape), inside

def mi(x, y, bins=32):
    h, _, _ = np.histogram2d(x, y, bins=bins, range=[[0, 1.2], [0, 1.2]]); p = h / h.sum()
    px, py = p.sum(1), p.sum(0); nz = p > 0
    hx = -(px[px > 0] * np.log(px[px > 0])).sum(); hy = -(py[py > 0] * np.log(py[py > 0])).sum(); hxy = -(p[nz] * np.log(p[nz])).sum()
    return hx + hy - hxy, 2 * (hx + hy - hxy) / (hx + hy)

def cr(x, y, bins=32):
    b = np.clip((x / 1.2 * bins).astype(int), 0, bins - 1)
    n = np.bincount(b, minlength=bins); sm = np.bincount(b, y, minlength=bins)
    mu = y.mean()
    return ((sm[n > 0] ** 2 / n[n > 0]).sum() - len(y) * mu ** 2) / ((y - mu) ** 2).sum()

def lncc2(x, y, m, r=3):
    f = lambda z: uniform_filter(z, 2 * r + 1)
    mx, my = f(x), f(y)
    c2 = (f(x * y) - mx * my) ** 2 / ((f(x * x) - mx * mx) * (f(y * y) - my * my) + 1e-6)
    return c2[m].mean()

def ngf(x, y, m, eps=0.05):
    gx, gy = np.array(np.gradient(x)), np.array(np.gradient(y))
    nx, ny = np.sqrt((gx ** 2).sum(0) + eps ** 2), np.sqrt((gy ** 2).sum(0) + eps ** 2)
    return (((gx * gy).sum(0) / (nx * ny)) ** 2)[m].mean()

print('   t  volume ratio |     MI    NMI     η² | LNCC²    NGF')
for t in [-0.4, -0.2, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2]:
    m = P + t * (R - P)
    wv, inside = warp(m)
    k = mask & inside
    print('%4.1f  %12.3f | %.4f %.4f %.4f | %.4f %.4f' % ((t, np.linalg.det(m[:3, :3])) + mi(a[k], wv[k]) + (cr(a[k], wv[k]), lncc2(a, wv, k), ngf(a, wv, k))), flush=True)

#!/usr/bin/env python3
"""The README's bound on the head shell for the real T2w slab (session 8; not run by `swift test`):
32-bin mutual information between a scan and the skull-stripped MNI152 2009a, with and without
a head shell (session 7's recipe, as `head_shell.py`: 0-2 mm 0.10, 2-7 mm 0.02, 7-13 mm 0.60 of
the atlas's 99th percentile, blurred by 1 mm) and with the shell's mask grown by AIR mm of air,
over the atlas mask inside the scan's field of view, both images blurred to the STEP mm grid the
atlas is sampled on, at each transform JSON's `atlasToScan`.

    python3 Tests/Scripts/shell_bound.py --scan SCAN --step 6 [--air 0 6 12 20] TRANSFORM.json...

The README compares the T2w (`register/T2w` of github.com/niivue/niivue-demo-images) at stnreg's
result against the skull-stripped atlas and at its result against FSL's MNI152 2 mm *with*
skull (the same repository's `register/MNI152_T1_2mm`; the same MNI space, so that result serves
as a proxy truth: unflagged and right on the overlay).
"""
import argparse, json, os
import numpy as np, nibabel as nib
from scipy import ndimage as ndi
from scipy.ndimage import map_coordinates

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument('--scan', required=True)
ap.add_argument('--atlas', default=os.path.join(here, '../../../shared/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz'))
ap.add_argument('--step', type=int, default=6)
ap.add_argument('--air', type=float, nargs='*', default=[0])
ap.add_argument('transforms', nargs='+')
args = ap.parse_args()

img = nib.load(args.atlas); A = img.get_fdata().astype(np.float32)
hi = np.percentile(A[A > 0], 99)
brain = ndi.binary_fill_holes(ndi.gaussian_filter(A, 1) > 0.05 * hi)
d = ndi.distance_transform_edt(~brain, sampling=img.header.get_zooms()[:3])
shell = np.zeros_like(A)
shell[(d > 0) & (d <= 2)] = 0.10; shell[(d > 2) & (d <= 7)] = 0.02; shell[(d > 7) & (d <= 13)] = 0.60
S = np.where(brain, A, ndi.gaussian_filter(shell, 1.0) * hi)
step = args.step
sl = (slice(0, None, step),) * 3
blur = lambda x: ndi.gaussian_filter(x, step * 0.42)
As, Ss = blur(A)[sl], blur(S)[sl]
plainMask = ndi.binary_dilation(brain, iterations=step)[sl]
X = (np.argwhere(np.ones(As.shape, bool)) * step) @ img.affine[:3, :3].T + img.affine[:3, 3]
scan = nib.load(args.scan); V = scan.get_fdata().astype(np.float32)
V = ndi.gaussian_filter(V, [step * 0.42 / z for z in scan.header.get_zooms()[:3]])
toVoxel = np.linalg.inv(scan.affine)

def mi(a, b, bins=32):
    a = (a - a.min()) / (np.ptp(a) + 1e-9)
    b = (b - np.percentile(b, 1)) / (np.percentile(b, 99) - np.percentile(b, 1) + 1e-9)
    h, _, _ = np.histogram2d(np.clip(a, 0, 1), np.clip(b, 0, 1), bins=bins, range=[[0, 1], [0, 1]])
    p = h / h.sum(); q = p.sum(1, keepdims=True) @ p.sum(0, keepdims=True)
    nz = p > 0
    return (p[nz] * np.log(p[nz] / q[nz])).sum()

for f in args.transforms:
    T = np.array(json.load(open(f))['atlasToScan'])
    v = (X @ T[:3, :3].T + T[:3, 3]) @ toVoxel[:3, :3].T + toVoxel[:3, 3]
    inside = np.all((v > -0.5) & (v < np.array(V.shape[:3]) - 0.5), axis=1).reshape(As.shape)
    w = map_coordinates(V, v.T, order=1).reshape(As.shape)
    row = ['plain %.4f' % mi(As[plainMask & inside], w[plainMask & inside])]
    for air in args.air:
        m = (d <= 13 + air)[sl] & inside
        row.append('shell+%g mm air %.4f' % (air, mi(Ss[m], w[m])))
    print(os.path.basename(f), ', '.join(row))

#!/usr/bin/env python3
"""The README's coarse-b0 figures (session 8; not run by `swift test`): the real b0 of
github.com/niivue/niivue-demo-images (`register/dwi`, 3 mm, CC BY-NC, not bundled) box-averaged
onto an oblique 4×4×5 mm grid (tilted 15° and 8°, like a clinical b0), then that volume under
three header-only moves (30°, 45°, 60° about its centre), each registered by `stnreg align`
(default) to ATLAS. Prints each result's mean distance over the atlas's brain from the 3 mm b0's
registration to the same atlas (carried through the move), its scale and its failure flags. The
3 mm result is not a truth, but the 4×4×5 volume is made from it, so a result far from it and
from its moved copies is wrong.

    python3 Tests/Scripts/b0_coarse.py --stnreg .build/release/stnreg --b0 DWI.nii.gz --atlas ATLAS --work DIR
"""
import argparse, json, os, subprocess
import numpy as np, nibabel as nib
from scipy.ndimage import map_coordinates

ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--b0', required=True)
ap.add_argument('--atlas', required=True)
ap.add_argument('--work', required=True)
args = ap.parse_args()
os.makedirs(args.work, exist_ok=True)

def rot(deg):
    q = np.deg2rad(deg); c, s = np.cos(q), np.sin(q)
    rx = np.array([[1, 0, 0], [0, c[0], -s[0]], [0, s[0], c[0]]])
    ry = np.array([[c[1], 0, s[1]], [0, 1, 0], [-s[1], 0, c[1]]])
    rz = np.array([[c[2], -s[2], 0], [s[2], c[2], 0], [0, 0, 1]])
    return rz @ ry @ rx

src = nib.load(args.b0); S = src.get_fdata().astype(np.float32)
S = S[..., 0] if S.ndim > 3 else S
centre = src.affine[:3, :3] @ (np.array(S.shape) / 2) + src.affine[:3, 3]
n = np.array([56, 56, 26])
A = np.eye(4); A[:3, :3] = rot([15, 8, 0]) @ np.diag([4, 4, 5.0]); A[:3, 3] = centre - A[:3, :3] @ ((n - 1) / 2)
idx = np.indices(n).reshape(3, -1).T
toSource = np.linalg.inv(src.affine)
acc = np.zeros(len(idx))
offsets = [(o, p, q) for o in (-1 / 3, 0, 1 / 3) for p in (-1 / 3, 0, 1 / 3) for q in (-0.4, -0.2, 0, 0.2, 0.4)]
for o in offsets:   # the mean over a 3 × 3 × 5 lattice inside each voxel
    W = (idx + np.array(o)) @ A[:3, :3].T + A[:3, 3]
    acc += map_coordinates(S, (W @ toSource[:3, :3].T + toSource[:3, 3]).T, order=1, cval=0)
coarse = (acc / len(offsets)).reshape(n).astype(np.float32)
cases = [('oblique_4x4x5', np.eye(4))]
for k, deg in enumerate([(30, 0, 10), (-45, 20, 0), (0, 0, 60)]):
    M = np.eye(4); M[:3, :3] = rot(deg); c = A[:3, :3] @ (n / 2) + A[:3, 3]; M[:3, 3] = c - M[:3, :3] @ c
    cases.append(('moved%d' % k, M))

def align(scan, name):
    out = os.path.join(args.work, name)
    subprocess.run([args.stnreg, 'align', scan, args.atlas, '-o', out, '-q'], check=True, capture_output=True)
    return json.load(open(out + '_transform.json'))

ref = np.array(align(args.b0, 'b0_3mm')['atlasToScan'])
a = nib.load(args.atlas); D = a.get_fdata()
X = np.argwhere(D > np.percentile(D[D > 0], 30))[::50] @ a.affine[:3, :3].T + a.affine[:3, 3]
move = lambda T: X @ T[:3, :3].T + T[:3, 3]
for name, M in cases:
    path = os.path.join(args.work, name + '.nii.gz')
    nib.save(nib.Nifti1Image(coarse, M @ A), path)
    r = align(path, name)
    err = np.linalg.norm(move(np.array(r['atlasToScan'])) - move(M @ ref), axis=1).mean()
    failures = [f for f in r['flags'] if f in ('lowSimilarity', 'extremeScale', 'extremeShear', 'invalidTransform')]
    print('%-14s %6.2f mm from the 3 mm result, scale %s, failure flags %s' % (
        name, err, ' '.join('%.2f' % s for s in r['decomposition']['scale']), ','.join(failures) or 'none'))

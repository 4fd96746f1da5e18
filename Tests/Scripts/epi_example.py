#!/usr/bin/env python3
"""The README's real-EPI figures: the first frame of nibabel's tests/data/example4d.nii.gz
registered to the MNI152 2 mm TestVolume by `stnreg align`, compared with ANTs' `Affine`
(antspyx, its defaults) over the atlas brain voxels the slab shows; then the scan moved by three
known rigid moves and registered again (consistency: the result should move with it). Not run
by `swift test`.

    python3 Tests/Scripts/epi_example.py --stnreg .build/release/stnreg --work /tmp/epi [--protocol P] [--no-network]
"""
import argparse, json, os, subprocess
import numpy as np, nibabel as nib

ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--work', required=True)
ap.add_argument('--protocol', default='brain-affine')
ap.add_argument('--no-network', action='store_true')
ap.add_argument('--atlas', default=os.path.join(os.path.dirname(__file__), '../../TestVolumes/mni152_t1_2mm.nii.gz'))
args = ap.parse_args()
os.makedirs(args.work, exist_ok=True)
example = os.path.join(os.path.dirname(nib.__file__), 'tests', 'data', 'example4d.nii.gz')
img = nib.load(example)
epi = os.path.join(args.work, 'epi0.nii.gz')
nib.save(nib.Nifti1Image(img.get_fdata()[..., 0].astype(np.float32), img.affine), epi)

def align(scan, out):
    cmd = [args.stnreg, 'align', scan, args.atlas, '-o', out, '-q', '--protocol', args.protocol]
    subprocess.run(cmd + (['--no-network'] if args.no_network else []), check=True, capture_output=True)
    r = json.load(open(out + '_transform.json'))
    return np.array(r['atlasToScan']), r

def rotation(deg, t):
    q = np.deg2rad(deg)
    rx = np.array([[1, 0, 0], [0, np.cos(q[0]), -np.sin(q[0])], [0, np.sin(q[0]), np.cos(q[0])]])
    ry = np.array([[np.cos(q[1]), 0, np.sin(q[1])], [0, 1, 0], [-np.sin(q[1]), 0, np.cos(q[1])]])
    rz = np.array([[np.cos(q[2]), -np.sin(q[2]), 0], [np.sin(q[2]), np.cos(q[2]), 0], [0, 0, 1]])
    m = np.eye(4); m[:3, :3] = rz @ ry @ rx; m[:3, 3] = t
    return m

T0, r0 = align(epi, os.path.join(args.work, 'c0'))
a = nib.load(args.atlas); A = a.get_fdata()
w = nib.load(os.path.join(args.work, 'c0_warped.nii.gz')).get_fdata()
idx = np.argwhere((A > 60) & (w > 0))[::10]
X = (a.affine[:3, :3] @ idx.T).T + a.affine[:3, 3]
apply = lambda T: X @ T[:3, :3].T + T[:3, 3]
print('stnreg: NMI %.3f, flags %s, contrast %s' % (r0['similarityAfter'], r0['flags'], r0.get('contrast')))
try:
    import ants
    res = ants.registration(ants.image_read(args.atlas), ants.image_read(epi), 'Affine')
    tx = ants.read_transform(res['fwdtransforms'][0])
    Q = np.array([tx.apply_to_point((-x[0], -x[1], x[2])) for x in X]); Q[:, :2] *= -1   # LPS ↔ RAS
    print('stnreg vs ANTs Affine: mean %.2f mm over %d points' % (np.linalg.norm(apply(T0) - Q, axis=1).mean(), len(X)))
except ImportError:
    print('antspyx not installed: no ANTs comparison')
c = img.affine[:3, :3] @ (np.array(img.shape[:3]) / 2) + img.affine[:3, 3]
for k, (deg, t) in enumerate([((10, -5, 8), (8, -6, 4)), ((-15, 10, 5), (-10, 5, -8)), ((25, 0, -20), (5, 10, 0))]):
    centre, back = np.eye(4), np.eye(4); centre[:3, 3] = c; back[:3, 3] = -c
    P = centre @ rotation(np.array(deg), np.array(t)) @ back
    moved = os.path.join(args.work, 'moved%d.nii.gz' % k)
    nib.save(nib.Nifti1Image(img.get_fdata()[..., 0].astype(np.float32), P @ img.affine), moved)
    T1, _ = align(moved, os.path.join(args.work, 'm%d' % k))
    print('move %d %s° %s mm: recovered to %.2f mm' % (k, deg, t, np.linalg.norm(apply(T1) - apply(P @ T0), axis=1).mean()))

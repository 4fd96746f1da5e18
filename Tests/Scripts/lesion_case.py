#!/usr/bin/env python3
"""The README's lesion figures: a bright (255) or dark (0) ball over 5 % of the brain of the 2 mm
MNI152 TestVolume, moved with the scan by a known affine, registered back to the atlas by
`stnreg align` with and without `--scan-mask` (the ball grown by one voxel left out). Prints the
mean error (mm) over the brain against the known move. Not run by `swift test`.

    python3 Tests/Scripts/lesion_case.py --stnreg .build/release/stnreg --work /tmp/lesion
"""
import argparse, json, os, subprocess
import numpy as np, nibabel as nib
from scipy import ndimage as ndi

ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--work', required=True)
ap.add_argument('--atlas', default=os.path.join(os.path.dirname(__file__), '../../TestVolumes/mni152_t1_2mm.nii.gz'))
args = ap.parse_args()
os.makedirs(args.work, exist_ok=True)

def rotation(deg, t):
    q = np.deg2rad(deg)
    rx = np.array([[1, 0, 0], [0, np.cos(q[0]), -np.sin(q[0])], [0, np.sin(q[0]), np.cos(q[0])]])
    ry = np.array([[np.cos(q[1]), 0, np.sin(q[1])], [0, 1, 0], [-np.sin(q[1]), 0, np.cos(q[1])]])
    rz = np.array([[np.cos(q[2]), -np.sin(q[2]), 0], [np.sin(q[2]), np.cos(q[2]), 0], [0, 0, 1]])
    m = np.eye(4); m[:3, :3] = rz @ ry @ rx; m[:3, 3] = t
    return m

a = nib.load(args.atlas); A = a.get_fdata(); aff = a.affine
ijk = np.indices(A.shape).reshape(3, -1).T
X = (aff[:3, :3] @ ijk.T).T + aff[:3, 3]
brain = A.reshape(-1) > 60
c = X[brain].mean(0)
radius = (0.05 * brain.sum() * 8 / (4 / 3 * np.pi)) ** (1 / 3)   # 2 mm voxels: 8 mm³ each
for kind, value in [('bright', 255), ('dark', 0)]:
    for k, (offset, deg, t) in enumerate([((25, 10, 15), (6, -4, 5), (4, -5, 3)), ((-20, -15, 5), (-8, 5, 3), (-3, 6, -4))]):
        lesion = (np.linalg.norm(X - (c + np.array(offset)), axis=1) < radius).reshape(A.shape)
        scan = A.copy(); scan[lesion] = value
        centre, back = np.eye(4), np.eye(4); centre[:3, 3] = c; back[:3, 3] = -c
        P = centre @ rotation(np.array(deg), np.array(t)) @ back          # the true atlasToScan
        scan_path, mask_path, out = [os.path.join(args.work, n) for n in ('lesion.nii.gz', 'lesion_mask.nii.gz', 'out')]
        nib.save(nib.Nifti1Image(scan.astype(np.float32), P @ aff), scan_path)
        nib.save(nib.Nifti1Image((~ndi.binary_dilation(lesion, iterations=1)).astype(np.uint8), P @ aff), mask_path)
        errors = []
        for extra in ([], ['--scan-mask', mask_path]):
            subprocess.run([args.stnreg, 'align', scan_path, args.atlas, '-o', out, '-q'] + extra, check=True, capture_output=True)
            T = np.array(json.load(open(out + '_transform.json'))['atlasToScan'])
            xb = X[brain][::5]
            errors.append(np.linalg.norm(xb @ T[:3, :3].T + T[:3, 3] - (xb @ P[:3, :3].T + P[:3, 3]), axis=1).mean())
        print('%s %d: without the mask %.3f mm, with it %.3f mm' % (kind, k, errors[0], errors[1]))

#!/usr/bin/env python3
"""The README's odd-header figures: one scan written eight other ways that describe the same
image in the same place — x axis flipped in the voxels (and the header), axes permuted (z, y, x),
qform only, sform only, int16 with scl_slope/scl_inter, a 4D file of one frame, uint8, an
uncompressed .nii — each registered by `stnreg align` (default) to ATLAS, and its mean distance
(over the atlas brain) from the original's result. Every one should be 0 up to interpolation
(the voxel order changes where the grid samples). Not run by `swift test` (it needs a scan you
supply; the README used chris_t1.nii.gz of github.com/niivue/niivue-demo-images, CC BY-NC).

    python3 Tests/Scripts/odd_headers.py --stnreg .build/release/stnreg --scan SCAN.nii.gz --work DIR \\
        [--atlas ../shared/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz]
"""
import argparse, json, os, subprocess
import numpy as np, nibabel as nib

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--scan', required=True)
ap.add_argument('--work', required=True)
ap.add_argument('--atlas', default=os.path.join(here, '../../../shared/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz'))
args = ap.parse_args()
os.makedirs(args.work, exist_ok=True)
env = dict(os.environ, STNREG_PROTOCOLS=os.path.join(here, '../../Protocols'))

im = nib.load(args.scan); d = np.asarray(im.dataobj).astype(np.float32); A = im.affine
if d.ndim > 3: d = d[..., 0]
w = lambda n: os.path.join(args.work, n)

def save(name, data, aff, sform=True, qform=True):
    o = nib.Nifti1Image(data, aff)
    o.header.set_qform(aff if qform else None, 1 if qform else 0)
    o.header.set_sform(aff if sform else None, 1 if sform else 0)
    nib.save(o, w(name))

F = np.eye(4); F[0, 0] = -1; F[0, 3] = d.shape[0] - 1
save('flipx.nii.gz', d[::-1].copy(), A @ F)
P = np.zeros((4, 4)); P[0, 2] = 1; P[1, 1] = 1; P[2, 0] = 1; P[3, 3] = 1
save('permuted.nii.gz', np.transpose(d, (2, 1, 0)).copy(), A @ P)
save('qform_only.nii.gz', d, A, sform=False)
save('sform_only.nii.gz', d, A, qform=False)
top = max(1.0, float(d.max()))
o = nib.Nifti1Image(np.round(d / top * 16000).astype(np.int16), A); o.header.set_slope_inter(0.5, 10); nib.save(o, w('int16_slope.nii.gz'))
save('one_frame_4d.nii.gz', d[..., None], A)
nib.save(nib.Nifti1Image(np.round(d / top * 255).astype(np.uint8), A), w('uint8.nii.gz'))
nib.save(nib.Nifti1Image(d, A), w('uncompressed.nii'))

def align(path, name):
    out = w('r_' + name)
    subprocess.run([args.stnreg, 'align', path, args.atlas, '-o', out, '-q'], check=True, capture_output=True, env=env)
    return json.load(open(out + '_transform.json'))

a = nib.load(args.atlas); At = a.get_fdata()
ijk = np.argwhere(At > np.percentile(At[At > 0], 40))[::7]
X = a.affine @ np.c_[ijk, np.ones(len(ijk))].T
dist = lambda M, R: np.linalg.norm(((np.array(M) - np.array(R)) @ X)[:3], axis=0).mean()
base = align(args.scan, 'original')
print('%-20s flags %s' % ('original', ','.join(base['flags']) or 'none'))
for n in ['flipx.nii.gz', 'permuted.nii.gz', 'qform_only.nii.gz', 'sform_only.nii.gz', 'int16_slope.nii.gz',
          'one_frame_4d.nii.gz', 'uint8.nii.gz', 'uncompressed.nii']:
    j = align(w(n), n.split('.')[0])
    print('%-20s %.3f mm from the original, flags %s (%s)' % (n, dist(j['atlasToScan'], base['atlasToScan']),
                                                         ','.join(j['flags']) or 'none', j['scan'].get('worldMatrix')))

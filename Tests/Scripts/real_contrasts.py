#!/usr/bin/env python3
"""The README's real-PD figures: a T1 and a PD of one subject registered to an atlas by
`stnreg align`; the PD's result against its true placement (mean distance over the atlas brain;
the truth is the T1's result composed with the same-subject rigid PD -> T1, `chris_truth.py`:
the headers do *not* align the two scans), and two measures — 32-bin MI and squared windowed NCC (r = 2) at
2 mm over the atlas mask inside the PD's field of view — at the true placement (the T1's result)
and at the PD's own result; the T1 resampled onto the PD's slab grid as a control (the slab's
shape without the PD's contrast); with `--ants`, ANTs `Affine` (antspyx, its defaults) on both
images, scored the same way. Not run by `swift test`; the images are not bundled (CC BY-NC):
`chris_t1.nii.gz` and `chris_PD.nii.gz` of github.com/niivue/niivue-demo-images.

    python3 Tests/Scripts/real_contrasts.py --stnreg .build/release/stnreg --images DIR --work /tmp/real \\
        [--atlas ../shared/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz] [--protocol P] [--ants]
"""
import argparse, json, os, subprocess
import numpy as np, nibabel as nib
import chris_truth
from scipy.ndimage import map_coordinates, gaussian_filter, binary_dilation, uniform_filter

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument('--stnreg', required=True)
ap.add_argument('--images', required=True, help='folder holding chris_t1.nii.gz and chris_PD.nii.gz')
ap.add_argument('--work', required=True)
ap.add_argument('--atlas', default=os.path.join(here, '../../../shared/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz'))
ap.add_argument('--protocol', default='brain-affine')
ap.add_argument('--ants', action='store_true')
args = ap.parse_args()
os.makedirs(args.work, exist_ok=True)

def align(path, name):
    out = os.path.join(args.work, name)
    subprocess.run([args.stnreg, 'align', path, args.atlas, '-o', out, '-q', '--protocol', args.protocol],
                   check=True, capture_output=True)
    return json.load(open(out + '_transform.json'))

def ants_affine(path):
    import ants
    r = ants.registration(ants.image_read(args.atlas), ants.image_read(path), type_of_transform='Affine')
    return chris_truth.ants_matrix(ants.read_transform(r['fwdtransforms'][0]))

t1_path, pd_path = os.path.join(args.images, 'chris_t1.nii.gz'), os.path.join(args.images, 'chris_PD.nii.gz')
t1, pd = align(t1_path, 'chris_t1'), align(pd_path, 'chris_PD')
# The control: the T1 on the PD's slab grid (same field of view and voxels, T1 contrast).
from nibabel.processing import resample_from_to
p_img = nib.load(pd_path)
slab = os.path.join(args.work, 't1_on_pd_grid.nii.gz')
nib.save(nib.Nifti1Image(resample_from_to(nib.load(t1_path), (p_img.shape, p_img.affine), order=1).get_fdata().astype(np.float32),
                         p_img.affine), slab)
t1slab = align(slab, 't1_on_pd_grid')
a = nib.load(args.atlas)
A1 = a.get_fdata()
pts = np.argwhere(A1 > np.percentile(A1[A1 > 0], 30))[::50]
X1 = pts @ a.affine[:3, :3].T + a.affine[:3, 3]
move = lambda T, X: X @ np.array(T)[:3, :3].T + np.array(T)[:3, 3]
dist = lambda T, R: chris_truth.mean_distance(T, R, X1)
rigid = chris_truth.same_subject_rigid(args.stnreg, t1_path, pd_path, args.work)
t1_img = nib.load(t1_path); T1v = t1_img.get_fdata()
t1pts = np.argwhere(T1v > np.percentile(T1v[T1v > 0], 50))[::50] @ t1_img.affine[:3, :3].T + t1_img.affine[:3, 3]
print('same-subject rigid PD -> T1 (stnreg rigid-same-subject): %.2f mm from the headers\' placement (over the T1\'s head)'
      % chris_truth.mean_distance(rigid, np.eye(4), t1pts))
if args.ants:
    print('  ANTs Rigid (Mattes MI) agrees to %.3f mm' % chris_truth.mean_distance(chris_truth.ants_rigid(t1_path, pd_path), rigid, t1pts))
truth = chris_truth.pd_truth(t1['atlasToScan'], rigid)
json.dump({'atlasToScan': truth.tolist()}, open(os.path.join(args.work, 'chris_PD_truth.json'), 'w'))   # for shell_bound.py
print('stnreg: PD result vs its true placement: mean %.2f mm over the atlas brain (vs the headers\' placement, the T1 result: %.2f mm); PD flags %s, T1 flags %s'
      % (dist(pd['atlasToScan'], truth), dist(pd['atlasToScan'], t1['atlasToScan']), pd['flags'], t1['flags']))
# The control's truth is the T1's result: the T1 resampled onto the PD's grid keeps the T1's world.
print('stnreg: T1 on the PD slab grid vs T1 result: mean %.2f mm' % dist(t1slab['atlasToScan'], t1['atlasToScan']))
placements = [('true placement', truth), ("stnreg's PD result", pd['atlasToScan'])]
if args.ants:
    ants_t1, ants_pd = ants_affine(t1_path), ants_affine(pd_path)
    print('ANTs: T1 result vs stnreg T1 result %.2f mm; ANTs PD result vs the PD\'s true placement %.2f mm'
          % (dist(ants_t1, t1['atlasToScan']), dist(ants_pd, truth)))
    placements.append(("ANTs' PD result", ants_pd))

# The measures at 2 mm (the atlas blurred and decimated, both normalised to the 1st/99th percentiles).
def norm(x):
    v = x[x > x.min()]; lo, hi = np.percentile(v, [1, 99]); return np.clip((x - lo) / (hi - lo), 0, 1)
A = norm(gaussian_filter(A1, 0.8)[::2, ::2, ::2]); aff = a.affine.copy(); aff[:3, :3] *= 2
s = nib.load(os.path.join(args.images, 'chris_PD.nii.gz')); S = norm(gaussian_filter(s.get_fdata().astype(float), 0.8))
idx = np.argwhere(binary_dilation(A > 0.05)); X = idx @ aff[:3, :3].T + aff[:3, 3]
def sampled(T):
    v = (move(T, X) - s.affine[:3, 3]) @ np.linalg.inv(s.affine[:3, :3]).T
    inside = np.all((v > 2) & (v < np.array(S.shape) - 3), axis=1)   # the PD's field of view, with a margin
    return map_coordinates(S, v.T, order=1, cval=0), inside
def mi(T):
    w, inside = sampled(T)
    h, _, _ = np.histogram2d(np.clip(w[inside], 0, 0.999), np.clip(A[tuple(idx[inside].T)], 0, 0.999), bins=32, range=[[0, 1], [0, 1]])
    p = h / h.sum(); H = lambda q: -(q[q > 0] * np.log(q[q > 0])).sum()
    return H(p.sum(1)) + H(p.sum(0)) - H(p.ravel())
def lncc(T):
    w, inside = sampled(T)
    I = np.zeros(A.shape); I[tuple(idx.T)] = w
    f = lambda x: uniform_filter(x, 5)
    mi_, mj = f(I), f(A); cross = f(I * A) - mi_ * mj; vi = f(I * I) - mi_ ** 2; vj = f(A * A) - mj ** 2
    cc = cross ** 2 / (vi * vj + 1e-8)
    return cc[tuple(idx[inside].T)].mean()
for label, T in placements:
    print('%-28s MI %.3f   squared windowed NCC %.3f' % (label, mi(T), lncc(T)))

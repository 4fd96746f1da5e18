"""Shared by check_minimum.py, header_rotations.py, proxy_distance.py and contrast_bias.py: the real scans they register (not
bundled, CC BY-NC: `chris_t1.nii.gz`, `chris_PD.nii.gz` and `register/{T2w,dwi,fmri}.nii.gz` of
github.com/niivue/niivue-demo-images, and frame 0 of nibabel's `tests/data/example4d.nii.gz`),
the header rotations applied to them, the mean distance over an atlas's brain, and one
`stnreg align` run read back as its transform record."""
import json, os, subprocess
import numpy as np, nibabel as nib

SCANS = {'chris_t1': 'chris_t1.nii.gz', 'chris_PD': 'chris_PD.nii.gz', 'T2w': 'register/T2w.nii.gz',
         'dwi': 'register/dwi.nii.gz', 'fmri': 'register/fmri.nii.gz'}


def scan_paths(images, work):
    """Each scan's path; the EPI frame is written to `work` (once)."""
    paths = {k: os.path.join(images, v) for k, v in SCANS.items()}
    paths['epi0'] = os.path.join(work, 'epi0.nii.gz')
    if not os.path.exists(paths['epi0']):
        epi = nib.load(os.path.join(os.path.dirname(nib.__file__), 'tests/data/example4d.nii.gz'))
        nib.save(nib.Nifti1Image(np.asarray(epi.dataobj)[..., 0].astype(np.float32), epi.affine), paths['epi0'])
    return paths


def rotation(axis, degrees):
    """4x4 rotation about world axis 0/1/2 (x/y/z)."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees)); R = np.eye(4)
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    R[i, i] = c; R[j, j] = c; R[i, j] = -s; R[j, i] = s
    return R


# 50° about x, -70° about z, 100° about y (check_minimum.py uses these three), then 12°, 20°, -15°.
HEADER_ROTATIONS = [rotation(0, 50), rotation(2, -70), rotation(1, 100), rotation(0, 12), rotation(2, 20), rotation(1, -15)]


def write_rotated(path, R, out):
    """The scan at `path` (its first frame) with `R` applied to its header only."""
    im = nib.load(path); data = np.asarray(im.dataobj)
    o = nib.Nifti1Image(data[..., 0] if data.ndim > 3 else data, R @ im.affine)
    o.header.set_qform(R @ im.affine, 1); o.header.set_sform(R @ im.affine, 1)
    nib.save(o, out)


def brain_distance(atlas_path):
    """dist(M, R): mean distance (mm) between two atlas -> scan matrices over every 7th atlas
    voxel above the 40th percentile of its foreground."""
    a = nib.load(atlas_path); A = a.get_fdata()
    ijk = np.argwhere(A > np.percentile(A[A > 0], 40))[::7]
    X = a.affine @ np.c_[ijk, np.ones(len(ijk))].T
    return lambda M, R: np.linalg.norm(((np.array(M) - np.array(R)) @ X)[:3], axis=0).mean()


def homogeneous(m):
    """A transform record's 3×4 (or 4×4) matrix as 4×4."""
    m = np.array(m, dtype=float)
    return np.vstack([m, [0, 0, 0, 1]]) if m.shape[0] == 3 else m


def align(stnreg, scan, atlas, out, extra=(), log=None):
    """`stnreg align SCAN ATLAS -o OUT -q [--audit-log LOG] EXTRA…`; returns OUT_transform.json as a dict."""
    subprocess.run([stnreg, 'align', scan, atlas, '-o', out, '-q'] + (['--audit-log', log] if log else []) + list(extra),
                   check=True, capture_output=True)
    return json.load(open(out + '_transform.json'))

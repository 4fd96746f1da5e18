"""The true placement of `chris_PD` for the README's real-PD figures (imported by
`real_contrasts.py` and `head_shell.py`; `real_contrasts.py` writes it as
`WORK/chris_PD_truth.json` for `shell_bound.py`; not run by `swift test`).

`chris_t1` and `chris_PD` (github.com/niivue/niivue-demo-images, CC BY-NC) are one subject, but
their headers do **not** align them: registered to each other (both with skull, same subject),
the PD sits 13.5 mm (mean over the T1's brain) and about 9 degrees from where its header puts it
— stnreg's `rigid-same-subject` and ANTs `Rigid` (Mattes MI, two seeds) agree to 0.16-0.17 mm,
and an overlay confirms it. Sessions 6-8 took the headers' placement as the truth; every PD figure
measured against it (13-19 mm "off") was wrong.

So the PD's true placement in an atlas is the T1's registration to that atlas composed with
the same-subject rigid transform, T1 world -> PD world:

    truth(atlas -> PD) = rigid(T1 -> PD) . result(atlas -> T1)
"""
import json, os, subprocess
import numpy as np


def same_subject_rigid(stnreg, t1_path, pd_path, work):
    """`atlasToScan` of `stnreg align PD T1 --protocol rigid-same-subject`: T1 world -> PD world (RAS mm)."""
    out = os.path.join(work, 'chris_PD_to_chris_t1')
    subprocess.run([stnreg, 'align', pd_path, t1_path, '-o', out, '-q', '--protocol', 'rigid-same-subject'],
                   check=True, capture_output=True)
    return np.array(json.load(open(out + '_transform.json'))['atlasToScan'])


def ants_matrix(tx):
    """An ANTs (ITK) affine transform, fixed LPS points -> moving LPS points, as a 4x4 RAS matrix
    fixed world -> moving world (read off its images of four points)."""
    p = np.array([[0, 0, 0], [50, 0, 0], [0, 50, 0], [0, 0, 50]], float)
    q = np.array([tx.apply_to_point((-x[0], -x[1], x[2])) for x in p]); q[:, :2] *= -1   # LPS <-> RAS
    m = np.eye(4); m[:3, :3] = (q[1:] - q[0]).T / 50; m[:3, 3] = q[0]
    return m


def ants_rigid(t1_path, pd_path, seed=1):
    """The same by ANTs `Rigid` (Mattes MI), as a 4x4 RAS matrix T1 world -> PD world."""
    import ants
    r = ants.registration(ants.image_read(t1_path), ants.image_read(pd_path), type_of_transform='Rigid',
                          aff_metric='mattes', random_seed=seed)
    return ants_matrix(ants.read_transform(r['fwdtransforms'][0]))


def pd_truth(t1_result, rigid):
    """truth(atlas -> PD) from the T1's `atlasToScan` and the same-subject rigid."""
    return rigid @ np.array(t1_result)


def mean_distance(T, R, points):
    """Mean distance (mm) between two transforms' images of `points` (N x 3 world mm)."""
    T, R = np.array(T), np.array(R)
    return np.linalg.norm(points @ T[:3, :3].T + T[:3, 3] - (points @ R[:3, :3].T + R[:3, 3]), axis=1).mean()

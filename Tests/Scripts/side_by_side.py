#!/usr/bin/env python3
"""Exact recovery of known affines at full resolution, stnreg beside ANTs (antspyx).

Usage:
  side_by_side.py --stnreg PATH --source SRC.nii.gz [--atlas ATLAS.nii.gz] --work DIR
                  [--cases 4] [--max-degrees 20] [--seed 1] [--noise] [--ants] [--threads 2]
                  [--protocol NAME|PATH] [--cut-top F] [--consistency] [--ants-metric mattes|GC|meansquares]

Each case moves SRC by a seeded random world affine P about its centre (rotation up to
--max-degrees per axis, scale ±10 %, translation ±15 mm) and resamples it on SRC's own grid
with scipy (trilinear, 0 outside: an interpolator independent of stnreg's), optionally with a
smooth ±10 % intensity bias and Gaussian noise (2 % of the maximum). The atlas defaults to SRC
itself, so the true atlasToScan is P exactly. Both tools register each case to the atlas:

- stnreg: `stnreg align CASE ATLAS --threads N [--protocol P]`; the transform is read
  from P_transform.json (`atlasToScan`, RAS+ mm);
- ANTs (--ants): `ants.registration(fixed=ATLAS, moving=CASE, type_of_transform='Affine',
  aff_metric=M)` with M = --ants-metric (default `mattes`: Mattes mutual information, 32 bins,
  which holds across contrasts and is antspyx's own default, written out here so that the
  measure is stated; `GC` = global correlation and `meansquares` hold within one contrast
  only), antspyx's other defaults and ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS=N; its forward
  transform (an ITK MatrixOffsetTransform, LPS, fixed -> moving) is converted to RAS.

Cross-contrast cases: --source a rendering of another contrast (`stnbench render-contrasts DIR
1 0` writes T2-, PD- and FLAIR-like renderings of each TestVolumes scan on its own grid) and
--atlas the T1 it was rendered from. The rendering lies in the T1's world, so the truth is
still P exactly; stnreg's default decides the contrast itself, ANTs uses MI.

--cut-top F keeps only the lower 1 − F of each moved image's slices (third voxel axis): a scan
whose field of view misses the top of the head. --consistency is for a source that is not the
atlas (another subject): the truth is then P·T0, T0 being the same tool's registration of the
unmoved source, so the error measures consistency under the move, not accuracy.

Needs numpy, scipy and nibabel, and antspyx for --ants (`.ci/setup` installs them; scipy comes
with nitransforms). Not run by `swift test`: it is the benchmark behind the README's table.

Error of a transform T: mean and maximum of |T(x) - P(x)| over every 7th atlas voxel above the
20th percentile of the non-zero intensities (the head or brain). Times are wall-clock seconds
of the whole call (stnreg: the process, reading and every output included).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def rotation(deg):
    x, y, z = np.radians(deg)
    rx = np.array([[1, 0, 0], [0, np.cos(x), -np.sin(x)], [0, np.sin(x), np.cos(x)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(z), -np.sin(z), 0], [np.sin(z), np.cos(z), 0], [0, 0, 1]])
    return rz @ ry @ rx


def make_cases(args):
    import nibabel as nib
    from scipy.ndimage import affine_transform
    rng = np.random.default_rng(args.seed)
    img = nib.load(args.source)
    data = img.get_fdata(dtype=np.float32)
    a = img.affine
    ijk = np.argwhere(data > np.percentile(data, 60))
    centre = (a @ np.c_[ijk, np.ones(len(ijk))].T)[:3].mean(1)
    cases = []
    for k in range(args.cases):
        lin = rotation(rng.uniform(-args.max_degrees, args.max_degrees, 3)) @ np.diag(1 + rng.uniform(-0.1, 0.1, 3))
        p = np.eye(4)
        p[:3, :3] = lin
        p[:3, 3] = centre + rng.uniform(-15, 15, 3) - lin @ centre
        # New image on the same grid: S'(z) = S(P^-1 z); voxel map v_src = A^-1 P^-1 A v_dst.
        m = np.linalg.inv(a) @ np.linalg.inv(p) @ a
        moved = affine_transform(data, m[:3, :3], m[:3, 3], order=1, mode="constant", cval=0)
        if args.cut_top:
            moved = moved[:, :, : int(moved.shape[2] * (1 - args.cut_top))]
        if args.noise:
            bias = 1 + 0.1 * np.sin(np.linspace(0, np.pi, moved.shape[0]))[:, None, None]
            moved = np.clip(moved * bias + rng.normal(0, 0.02 * moved.max(), moved.shape), 0, None)
        path = os.path.join(args.work, f"case{k}.nii.gz")
        nib.save(nib.Nifti1Image(moved.astype(np.float32), a, img.header), path)
        cases.append({"path": path, "P": p.tolist(), "degrees": float(np.degrees(np.arccos(np.clip((np.trace(rotation_part(lin)) - 1) / 2, -1, 1))))})
    return cases


def rotation_part(lin):
    u, _, vt = np.linalg.svd(lin)
    return u @ vt


def run_stnreg(args, case, prefix):
    t = time.time()
    command = [args.stnreg, "align", case["path"], args.atlas, "-o", prefix, "-q", "--threads", str(args.threads)]
    if args.protocol:
        command += ["--protocol", args.protocol]
    r = subprocess.run(command, capture_output=True, text=True)
    seconds = time.time() - t
    if r.returncode != 0:
        return None, seconds, r.stderr.strip()
    record = json.load(open(prefix + "_transform.json"))
    return np.array(record["atlasToScan"]), seconds, ",".join(record.get("flags", []))


def run_ants(args, case):
    import ants
    fixed = ants.image_read(args.atlas)
    moving = ants.image_read(case["path"])
    t = time.time()
    r = ants.registration(fixed, moving, type_of_transform="Affine", aff_metric=args.ants_metric)
    seconds = time.time() - t
    tx = ants.read_transform(r["fwdtransforms"][0])
    p = np.array(tx.parameters)
    c = np.array(tx.fixed_parameters)
    lin = p[:9].reshape(3, 3)
    m = np.eye(4)
    m[:3, :3] = lin
    m[:3, 3] = p[9:12] + c - lin @ c          # LPS: fixed point -> moving point
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    return flip @ m @ flip, seconds, ""


def errors(t, p, points):
    e = np.linalg.norm((t @ points - p @ points)[:3], axis=0)
    return float(e.mean()), float(e.max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stnreg", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--atlas")
    ap.add_argument("--work", required=True)
    ap.add_argument("--cases", type=int, default=4)
    ap.add_argument("--max-degrees", type=float, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--noise", action="store_true")
    ap.add_argument("--ants", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--protocol")
    ap.add_argument("--cut-top", type=float, default=0)
    ap.add_argument("--consistency", action="store_true")
    ap.add_argument("--ants-metric", default="mattes", choices=["mattes", "GC", "meansquares"])
    args = ap.parse_args()
    args.atlas = args.atlas or args.source
    os.makedirs(args.work, exist_ok=True)
    os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = str(args.threads)
    import nibabel as nib
    atlas = nib.load(args.atlas)
    d = atlas.get_fdata()
    ijk = np.argwhere(d > np.percentile(d[d > 0], 20))[::7]
    points = atlas.affine @ np.c_[ijk, np.ones(len(ijk))].T

    cases = make_cases(args)
    tools = ["stnreg"] + (["ants"] if args.ants else [])
    reference = {tool: np.eye(4) for tool in tools}
    if args.consistency:
        unmoved = {"path": args.source}
        for tool in tools:
            t, _, note = (run_stnreg(args, unmoved, os.path.join(args.work, "unmoved_stnreg")) if tool == "stnreg"
                          else run_ants(args, unmoved))
            if t is None:
                print(f"{tool} could not register the unmoved source: {note}")
                return 1
            reference[tool] = t
    summary = {tool: {"mean": [], "seconds": [], "failed": 0} for tool in tools}
    for k, case in enumerate(cases):
        p = np.array(case["P"])
        for tool in tools:
            if tool == "stnreg":
                t, seconds, note = run_stnreg(args, case, os.path.join(args.work, f"case{k}_stnreg"))
            else:
                t, seconds, note = run_ants(args, case)
            if t is None:
                summary[tool]["failed"] += 1
                print(f"case {k} ({case['degrees']:.0f} deg) {tool}: FAILED {note}", flush=True)
                continue
            mean, worst = errors(t, p @ reference[tool], points)
            summary[tool]["mean"].append(mean)
            summary[tool]["seconds"].append(seconds)
            print(f"case {k} ({case['degrees']:.0f} deg) {tool}: mean {mean:.3f} mm, max {worst:.3f} mm, {seconds:.1f} s {note}", flush=True)
    for tool in tools:
        s = summary[tool]
        name = f"ants ({args.ants_metric})" if tool == "ants" else tool
        if s["mean"]:
            success = sum(m < 2 for m in s["mean"])   # the success bar: mean error under 2 mm
            print(f"{name}: {len(s['mean'])}/{len(cases)} registered, {success}/{len(cases)} within 2 mm, "
                  f"mean error {np.mean(s['mean']):.3f} mm (worst case {np.max(s['mean']):.3f}), "
                  f"median time {np.median(s['seconds']):.1f} s")
        else:
            print(f"{name}: no case registered")


if __name__ == "__main__":
    sys.exit(main())

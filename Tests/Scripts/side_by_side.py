#!/usr/bin/env python3
"""Exact recovery of known affines at full resolution, stnreg beside ANTs (antspyx) and elastix.

Usage:
  side_by_side.py --stnreg PATH --source SRC.nii.gz [--atlas ATLAS.nii.gz] --work DIR
                  [--cases 4] [--max-degrees 20] [--seed 1] [--noise] [--ants] [--threads 2]
                  [--protocol NAME|PATH] [--cut-top F] [--consistency] [--ants-metric mattes|GC|meansquares]
                  [--elastix] [--elastix-params FILE]
  side_by_side.py --self-test

Each case moves SRC by a seeded random world affine P about its centre (rotation up to
--max-degrees per axis, scale ±10 %, translation ±15 mm) and resamples it on SRC's own grid
with scipy (trilinear, 0 outside: an interpolator independent of stnreg's), optionally with a
smooth ±10 % intensity bias and Gaussian noise (2 % of the maximum). The atlas defaults to SRC
itself, so the true atlasToScan is P exactly. Each tool registers each case to the atlas:

- stnreg: `stnreg align CASE ATLAS --threads N [--protocol P]`; the transform is read
  from P_transform.json (`atlasToScan`, RAS+ mm);
- ANTs (--ants): `ants.registration(fixed=ATLAS, moving=CASE, type_of_transform='Affine',
  aff_metric=M)` with M = --ants-metric (default `mattes`: Mattes mutual information, 32 bins,
  which holds across contrasts and is antspyx's own default, written out here so that the
  measure is stated; `GC` = global correlation and `meansquares` hold within one contrast
  only), antspyx's other defaults and ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS=N; its forward
  transform (an ITK MatrixOffsetTransform, LPS, fixed -> moving) is converted to RAS.
- elastix (--elastix): `elastix -f ATLAS -m CASE -p P -out DIR -threads N`, P = --elastix-params
  (default elastix_affine.txt beside this script: AffineTransform, Mattes MI with 32 bins,
  4-level smoothing pyramid, ASGD with 250 iterations per level, 2048 random-coordinate samples
  drawn anew every iteration, centre-of-gravity initialisation, trilinear interpolation while
  registering; each line of the file says why). elastix must be on PATH (Debian: `apt-get
  install elastix`; `.ci/setup` does not install it). Its DIR/TransformParameters.0.txt (affine
  about CenterOfRotationPoint, LPS, fixed -> moving) is converted to RAS like the ANTs transform.
  Before the first case the conversion is checked on a known affine written in elastix's format
  (and, with transformix on PATH, against transformix's own mapping of points); `--self-test`
  runs only that check.

Every case runs each selected tool in turn (stnreg, ANTs, elastix) before the next case, so that
a change of load in the machine falls on all tools alike. The summary gives, per tool, the cases
registered, those within 2 mm, the mean error and the worst case's, the median time, and with
--elastix the ratio of elastix's median time to stnreg's.

Cross-contrast cases: --source a rendering of another contrast (`stnbench render-contrasts DIR
1 0` writes T2-, PD- and FLAIR-like renderings of each TestVolumes scan on its own grid) and
--atlas the T1 it was rendered from. The rendering lies in the T1's world, so the truth is
still P exactly; stnreg's default decides the contrast itself, ANTs uses MI.

--cut-top F keeps only the lower 1 − F of each moved image's slices (third voxel axis): a scan
whose field of view misses the top of the head. --consistency is for a source that is not the
atlas (another subject): the truth is then P·T0, T0 being the same tool's registration of the
unmoved source, so the error measures consistency under the move, not accuracy.

Needs numpy, scipy and nibabel, and antspyx for --ants (`.ci/setup` installs them; scipy comes
with nitransforms), and elastix (with transformix for the full self-test) for --elastix. Not run
by `swift test`: it is the benchmark behind the README's table.

Error of a transform T: mean and maximum of |T(x) - P(x)| over every 7th atlas voxel above the
20th percentile of the non-zero intensities (the head or brain). Times are wall-clock seconds
of the whole call (stnreg and elastix: the process, reading and every output included; both
write the case resampled on the atlas grid; ANTs: the `ants.registration` call).
"""
import argparse
import json
import os
import re
import shutil
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


LPS_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])   # x -> -x, y -> -y: ITK's LPS world <-> NIfTI's RAS world (its own inverse)


def read_elastix_parameters(path):
    """The entries of an elastix parameter file: name -> list of values (numbers as float)."""
    entries = {}
    for line in open(path):
        line = line.split("//")[0].strip()
        m = re.fullmatch(r"\((\w+)\s*(.*)\)", line)
        if not m:
            continue
        values = re.findall(r'"[^"]*"|\S+', m.group(2))
        entries[m.group(1)] = [v.strip('"') if v.startswith('"') else float(v) for v in values]
    return entries


def elastix_to_ras(path):
    """atlasToScan (RAS mm) from elastix's TransformParameters file of an affine registration.

    elastix's AffineTransform maps a fixed (atlas) point x to the moving (scan) point
    A (x - c) + t + c in LPS, A = the first 9 TransformParameters row by row, t = the last 3,
    c = CenterOfRotationPoint: the ITK MatrixOffsetTransform the ANTs arm reads, converted the
    same way (flip, matrix, flip). elastix 5.0 writes the parameters with 6 decimals: under
    2e-4 mm at 100 mm from the centre."""
    e = read_elastix_parameters(path)
    if e.get("Transform") != ["AffineTransform"]:
        raise ValueError(f"{path}: Transform {e.get('Transform')}, expected AffineTransform")
    initial = e.get("InitialTransformParametersFileName", ["NoInitialTransform"])
    if initial != ["NoInitialTransform"]:
        raise ValueError(f"{path}: an initial transform {initial} would have to be composed")
    p = np.array(e["TransformParameters"], dtype=float)
    c = np.array(e["CenterOfRotationPoint"], dtype=float)
    lin = p[:9].reshape(3, 3)
    m = np.eye(4)
    m[:3, :3] = lin
    m[:3, 3] = p[9:12] + c - lin @ c          # LPS: fixed point -> moving point
    return LPS_RAS @ m @ LPS_RAS


def write_elastix_affine(path, ras, centre_lps, geometry=None):
    """An elastix TransformParameters file holding the RAS affine `ras` (for the self-test)."""
    m = LPS_RAS @ ras @ LPS_RAS
    lin, c = m[:3, :3], np.asarray(centre_lps, dtype=float)
    t = m[:3, 3] - c + lin @ c
    numbers = lambda v: " ".join(repr(float(x)) for x in v)
    g = geometry or {"Size": [10, 10, 10], "Index": [0, 0, 0], "Spacing": [1, 1, 1],
                     "Origin": [0, 0, 0], "Direction": [1, 0, 0, 0, 1, 0, 0, 0, 1]}
    with open(path, "w") as f:
        f.write('(Transform "AffineTransform")\n(NumberOfParameters 12)\n')
        f.write(f"(TransformParameters {numbers(list(lin.ravel()) + list(t))})\n")
        f.write('(InitialTransformParametersFileName "NoInitialTransform")\n(HowToCombineTransforms "Compose")\n')
        f.write("(FixedImageDimension 3)\n(MovingImageDimension 3)\n")
        f.write('(FixedInternalImagePixelType "float")\n(MovingInternalImagePixelType "float")\n')
        for key in ["Size", "Index"]:
            f.write(f"({key} {' '.join(str(int(v)) for v in g[key])})\n")
        for key in ["Spacing", "Origin", "Direction"]:
            f.write(f"({key} {numbers(g[key])})\n")
        f.write('(UseDirectionCosines "true")\n')
        f.write(f"(CenterOfRotationPoint {numbers(c)})\n")
        f.write('(ResampleInterpolator "FinalBSplineInterpolator")\n(FinalBSplineInterpolationOrder 3)\n')
        f.write('(Resampler "DefaultResampler")\n(DefaultPixelValue 0)\n(ResultImageFormat "nii.gz")\n')
        f.write('(ResultImagePixelType "float")\n(CompressResultImage "false")\n')


def elastix_self_test(work):
    """Checks elastix_to_ras on a known affine: writing it in elastix's format and reading it
    back must give it again; with transformix on PATH, transformix's mapping of points through
    that file must equal the affine applied in RAS and flipped to LPS (so the file means what
    the conversion assumes). Raises AssertionError on a mismatch; returns a one-line report."""
    rng = np.random.default_rng(7)
    ras = np.eye(4)
    ras[:3, :3] = rotation(rng.uniform(-30, 30, 3)) @ np.diag(1 + rng.uniform(-0.15, 0.15, 3))
    ras[:3, :3] += rng.uniform(-0.05, 0.05, (3, 3))          # some shear: a general affine
    ras[:3, 3] = rng.uniform(-20, 20, 3)
    centre = rng.uniform(-50, 50, 3)                          # LPS, away from the origin
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "selftest_TransformParameters.txt")
    write_elastix_affine(path, ras, centre)
    back = elastix_to_ras(path)
    assert np.allclose(back, ras, atol=1e-9), f"elastix conversion round trip differs:\n{back}\n{ras}"
    report = f"elastix conversion self-test: round trip exact to {np.abs(back - ras).max():.1e}"
    if shutil.which("transformix") is None:
        return report + " (transformix not on PATH: not checked against elastix)"
    ras_points = np.c_[rng.uniform(-80, 80, (20, 3)), np.ones(20)].T
    lps_points = LPS_RAS @ ras_points
    points_file = os.path.join(work, "selftest_points.txt")
    with open(points_file, "w") as f:
        f.write(f"point\n{lps_points.shape[1]}\n")
        for x in lps_points[:3].T:
            f.write(" ".join(repr(float(v)) for v in x) + "\n")
    out = os.path.join(work, "selftest_transformix")
    os.makedirs(out, exist_ok=True)
    r = subprocess.run(["transformix", "-def", points_file, "-tp", path, "-out", out], capture_output=True, text=True)
    assert r.returncode == 0, f"transformix failed: {(r.stdout + r.stderr).strip().splitlines()[-1:]}"
    mapped = []
    for line in open(os.path.join(out, "outputpoints.txt")):
        m = re.search(r"OutputPoint\s*=\s*\[([^\]]*)\]", line)
        mapped.append([float(v) for v in m.group(1).split()])
    mapped_ras = LPS_RAS[:3, :3] @ np.array(mapped).T
    expected = (ras @ ras_points)[:3]
    difference = np.abs(mapped_ras - expected).max()
    assert difference < 1e-3, f"transformix maps the points {difference:.3g} mm away from the affine"
    return report + f"; transformix maps 20 points within {difference:.1e} mm of it"


def run_elastix(args, case, out):
    os.makedirs(out, exist_ok=True)
    result = os.path.join(out, "TransformParameters.0.txt")
    if os.path.exists(result):
        os.remove(result)                     # never read a previous run's transform
    command = ["elastix", "-f", args.atlas, "-m", case["path"], "-p", args.elastix_params,
               "-out", out, "-threads", str(args.threads)]
    t = time.time()
    r = subprocess.run(command, capture_output=True, text=True)
    seconds = time.time() - t
    if r.returncode != 0 or not os.path.exists(result):
        lines = [l for l in (r.stdout + r.stderr).splitlines() if "rror" in l] or (r.stdout + r.stderr).strip().splitlines()[-1:]
        return None, seconds, f"exit {r.returncode}: {' '.join(lines[:2])} (log: {out}/elastix.log)"
    return elastix_to_ras(result), seconds, ""


def run_tool(tool, args, case, prefix):
    if tool == "stnreg":
        return run_stnreg(args, case, prefix + "_stnreg")
    if tool == "elastix":
        return run_elastix(args, case, prefix + "_elastix")
    return run_ants(args, case)


def errors(t, p, points):
    e = np.linalg.norm((t @ points - p @ points)[:3], axis=0)
    return float(e.mean()), float(e.max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stnreg")
    ap.add_argument("--source")
    ap.add_argument("--atlas")
    ap.add_argument("--work")
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
    ap.add_argument("--elastix", action="store_true")
    ap.add_argument("--elastix-params", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "elastix_affine.txt"))
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        import tempfile
        with tempfile.TemporaryDirectory() as work:
            try:
                print(elastix_self_test(args.work or work))
            except AssertionError as e:
                print(f"elastix conversion self-test FAILED: {e}")
                return 1
        return 0
    missing = [f"--{name}" for name in ["stnreg", "source", "work"] if getattr(args, name) is None]
    if missing:
        ap.error("the following arguments are required: " + ", ".join(missing))
    if args.elastix:
        if shutil.which("elastix") is None:
            print("side_by_side.py: --elastix given but no `elastix` executable on PATH (Debian: apt-get install elastix)")
            return 2
        if not os.path.isfile(args.elastix_params):
            print(f"side_by_side.py: elastix parameter file {args.elastix_params} not found")
            return 2
    args.atlas = args.atlas or args.source
    os.makedirs(args.work, exist_ok=True)
    os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = str(args.threads)
    import nibabel as nib
    atlas = nib.load(args.atlas)
    d = atlas.get_fdata()
    ijk = np.argwhere(d > np.percentile(d[d > 0], 20))[::7]
    points = atlas.affine @ np.c_[ijk, np.ones(len(ijk))].T

    if args.elastix:
        try:
            print(elastix_self_test(os.path.join(args.work, "elastix_selftest")), flush=True)
        except AssertionError as e:
            print(f"elastix conversion self-test FAILED: {e}")
            return 1

    cases = make_cases(args)
    tools = ["stnreg"] + (["ants"] if args.ants else []) + (["elastix"] if args.elastix else [])
    reference = {tool: np.eye(4) for tool in tools}
    if args.consistency:
        unmoved = {"path": args.source}
        for tool in tools:
            t, _, note = run_tool(tool, args, unmoved, os.path.join(args.work, "unmoved"))
            if t is None:
                print(f"{tool} could not register the unmoved source: {note}")
                return 1
            reference[tool] = t
    summary = {tool: {"mean": [], "seconds": [], "failed": 0} for tool in tools}
    for k, case in enumerate(cases):
        p = np.array(case["P"])
        for tool in tools:
            t, seconds, note = run_tool(tool, args, case, os.path.join(args.work, f"case{k}"))
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
    if args.elastix and summary["elastix"]["seconds"] and summary["stnreg"]["seconds"]:
        ratio = np.median(summary["elastix"]["seconds"]) / np.median(summary["stnreg"]["seconds"])
        print(f"elastix / stnreg median time: {ratio:.1f}x")


if __name__ == "__main__":
    sys.exit(main())

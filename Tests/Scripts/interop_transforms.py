#!/usr/bin/env python3
"""Independent readers for stnreg's transform files (run by TransformIOTests/InteropTests).

Usage: interop_transforms.py MANIFEST.json   (or: interop_transforms.py --check-imports)

The manifest lists cases; each names an atlas (reference) and a scan (moving) NIfTI image, the
known transform T = atlasToScan (RAS+ mm, atlas point -> scan point, 16 numbers row by row),
and the files stnreg wrote for T. For each case this script, using only third-party readers:

1. resamples the scan onto the atlas grid (linear interpolation, 0 outside) with
   - SimpleITK: sitk.ReadTransform + sitk.Resample, from stnreg's ITK text and ANTs .mat;
   - ANTsPy: ants.apply_transforms, from stnreg's ANTs .mat and ITK text;
   and writes each result as raw little-endian float32, i fastest (NAME.f32); and reads
   stnreg's float32 .mat variant (AffineTransform_float_3_3) with SimpleITK and ANTsPy;
2. reads stnreg's FSL .mat and LTA (and ITK files) with nitransforms, and the NiftyReg file
   with numpy, and reports each as the RAS+ matrix nitransforms uses (reference -> moving,
   i.e. the same direction as atlasToScan);
3. writes T the other way round, for stnreg's readers: SimpleITK .tfm and .mat, ANTsPy .mat
   (from a float transform; ITK writes it as AffineTransform_double_3_3), all with a non-zero
   centre of rotation, and nitransforms' FSL matrix.

It writes MANIFEST_DIR/results.json. Exit code 3 = a package is missing (message on stdout).
"""
import json
import os
import sys

REQUIRED = [("numpy", "numpy"), ("nibabel", "nibabel"), ("SimpleITK", "SimpleITK"),
            ("ants", "antspyx"), ("nitransforms", "nitransforms")]


def check_imports():
    missing = []
    for module, package in REQUIRED:
        try:
            __import__(module)
        except Exception as exc:  # ImportError, or a broken binary wheel
            missing.append((package, f"{type(exc).__name__}: {exc}"))
    if missing:
        names = " ".join(p for p, _ in missing)
        details = "; ".join(f"{p} ({e})" for p, e in missing)
        print(f"MISSING Python packages: {details}. Run: python3 -m pip install {names} "
              f"(or python3 -m pip install -r .ci/requirements.txt)")
        sys.exit(3)


LPS = None


def itk_parameters(T, centre_ras):
    """ITK's 12 parameters and centre (LPS) for T: y = M (x - c) + c + t."""
    import numpy as np
    A = LPS @ T @ LPS
    c = (LPS @ np.append(centre_ras, 1.0))[:3]
    M = A[:3, :3]
    t = A[:3, 3] - c + M @ c
    return list(M.flatten()) + list(t), list(c)


def raw_f32(path, array_ijk):
    import numpy as np
    np.asarray(array_ijk, dtype="<f4").flatten(order="F").tofile(path)


def run_case(case, base):
    import numpy as np
    import SimpleITK as sitk
    import ants
    import nibabel as nib
    from nitransforms import linear as ntl

    def p(name):
        return os.path.join(base, name)

    T = np.array(case["atlasToScan"], dtype=float).reshape(4, 4)
    ours = case["files"]
    atlas_path, scan_path = p(case["atlas"]), p(case["scan"])
    out = {"name": case["name"]}

    # 1. Resampling by SimpleITK (ITK's readers) and ANTsPy (ANTs' readers).
    fixed = sitk.ReadImage(atlas_path, sitk.sitkFloat32)
    moving = sitk.ReadImage(scan_path, sitk.sitkFloat32)
    for key, fname in (("sitk_itkText", ours["itkText"]), ("sitk_antsMat", ours["antsMat"])):
        tx = sitk.ReadTransform(p(fname))
        warped = sitk.Resample(moving, fixed, tx, sitk.sitkLinear, 0.0, sitk.sitkFloat32)
        # GetArrayFromImage is (k, j, i); transpose to (i, j, k).
        raw_f32(p(f"{case['name']}_{key}.f32"), np.transpose(sitk.GetArrayFromImage(warped), (2, 1, 0)))
        out[key] = f"{case['name']}_{key}.f32"
        out[key + "_matrix"] = list(tx.GetParameters()) + list(tx.GetFixedParameters())
    # Our float32 variant, through ITK's MATLAB reader (SimpleITK) and ANTs'.
    out["sitk_antsMatFloat_params"] = list(sitk.ReadTransform(p(ours["antsMatFloat"])).GetParameters())
    out["ants_antsMatFloat_params"] = [float(v) for v in ants.read_transform(p(ours["antsMatFloat"])).parameters]
    a_fixed = ants.image_read(atlas_path)
    a_moving = ants.image_read(scan_path)
    for key, fname in (("ants_antsMat", ours["antsMat"]), ("ants_itkText", ours["itkText"])):
        warped = ants.apply_transforms(fixed=a_fixed, moving=a_moving, transformlist=[p(fname)],
                                       interpolator="linear", defaultvalue=0)
        raw_f32(p(f"{case['name']}_{key}.f32"), warped.numpy())
        out[key] = f"{case['name']}_{key}.f32"

    # 2. Matrices by nitransforms (RAS+, reference -> moving) and numpy.
    ref, mov = nib.load(atlas_path), nib.load(scan_path)
    loaded = {
        "nitransforms_fsl": ntl.load(p(ours["fsl"]), fmt="fsl", reference=ref, moving=mov),
        "nitransforms_lta": ntl.load(p(ours["lta"]), fmt="fs"),
        "nitransforms_itkText": ntl.load(p(ours["itkText"]), fmt="itk"),
        "nitransforms_antsMat": ntl.load(p(ours["antsMat"]), fmt="itk"),
    }
    for key, xfm in loaded.items():
        out[key] = [float(v) for v in np.asarray(xfm.matrix).flatten()]
    out["numpy_niftyReg"] = [float(v) for v in np.loadtxt(p(ours["niftyReg"])).flatten()]
    # nibabel's view of the two grids, so the test can check the NIfTI geometry it relies on.
    out["nibabel_atlas_affine"] = [float(v) for v in ref.affine.flatten()]
    out["nibabel_scan_affine"] = [float(v) for v in mov.affine.flatten()]

    # 3. Files written by the other tools, for stnreg's readers.
    centre = np.array(case["centreRAS"], dtype=float)
    params, fixed_params = itk_parameters(T, centre)
    written = {}
    tx = sitk.AffineTransform(3)
    tx.SetFixedParameters(fixed_params)
    tx.SetParameters(params)
    for ext in ("tfm", "mat"):
        name = f"{case['name']}_sitk_written.{ext}"
        sitk.WriteTransform(tx, p(name))
        written["sitk_" + ext] = name
    atx = ants.create_ants_transform(transform_type="AffineTransform", precision="float", dimension=3,
                                     parameters=params, fixed_parameters=fixed_params)
    name = f"{case['name']}_ants_written.mat"
    ants.write_transform(atx, p(name))
    written["ants_mat"] = name
    name = f"{case['name']}_nitransforms_written_fsl.mat"
    ntl.Affine(T, reference=ref).to_filename(p(name), fmt="fsl", moving=mov)
    written["nitransforms_fsl"] = name
    out["written"] = written
    return out


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--check-imports":
        check_imports()
        print("ok")
        return
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    check_imports()
    import numpy as np
    global LPS
    LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
    manifest_path = sys.argv[1]
    base = os.path.dirname(os.path.abspath(manifest_path))
    with open(manifest_path) as f:
        manifest = json.load(f)
    results = [run_case(case, base) for case in manifest["cases"]]
    with open(os.path.join(base, "results.json"), "w") as f:
        json.dump({"cases": results}, f, indent=1)
    print(f"interop: {len(results)} case(s) done")


if __name__ == "__main__":
    main()

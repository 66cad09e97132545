"""The text reports of the commands: pure functions from a result dict to the lines printed."""

from __future__ import annotations


def prepare_table(summary: dict, source: str) -> str:
    rate = summary["images_per_second"]
    lines = [
        f"prepared {source} → {summary['output']} in {summary['seconds']:.1f} s"
        + (f" ({rate:.1f} images/s)" if rate else ""),
        f"  kept        {summary['kept']:6d}   train {summary['train']}, "
        f"held out {summary['holdout']}",
        f"  duplicates  {summary['duplicates']:6d}",
        f"  rejected    {summary['rejected']:6d}",
    ]
    for reason, count in summary["rejected_by_reason"].items():
        lines.append(f"    {reason:<28s}{count:6d}")
    lines.append(f"  ignored     {summary['ignored']:6d}   non-image files")
    return "\n".join(lines)


def transfer_table(summary: dict) -> str:
    """The human-readable summary of a `gan_style.transfer.TransferResult.summary`."""
    rate = summary["megapixels_per_second"]
    lines = [
        f"transferred with style {summary['style']} in {summary['seconds']:.1f} s"
        + (f" ({summary['megapixels']:.1f} MP, {rate:.2f} MP/s)" if rate else ""),
        f"  written   {summary['written']:6d}",
        f"  skipped   {summary['skipped']:6d}   outputs exist (--overwrite replaces them)",
        f"  failed    {summary['failed']:6d}",
    ]
    scales: dict[str, int] = {}
    for entry in summary.get("styled_at", []):
        working = entry["working_size"]
        if working is None:
            continue
        scale = (
            "full resolution"
            if entry["full_resolution"]
            else f"shorter side {min(working)} px, then up-sampled"
        )
        scales[scale] = scales.get(scale, 0) + 1
    for scale, count in sorted(scales.items()):
        lines.append(f"  styled at {count:6d}   {scale}")
    for video in summary.get("videos", []):
        width, height = video["size"]
        rate = f", {video['frame_rate']:.2f} fps" if video["frame_rate"] else ""
        copied = ", ".join(video["copied_streams"]) or "no other streams"
        lines.append(
            f"  video     {video['output']}: {video['frames']} frames of {width}×{height}"
            f"{rate}; copied {copied}"
        )
    converted = summary.get("converted", [])
    if converted:
        kinds = "/".join(sorted({entry["from"].replace("HEIF", "HEIC") for entry in converted}))
        lines.append(
            f"  as JPEG   {len(converted):6d}   {kinds} inputs written as JPEG "
            "(--format heic writes HEIC)"
        )
    return "\n".join(lines)


def evaluation_table(result: dict, title: str, plot: str | None = None) -> str:
    """``evaluate DIR_A DIR_B``'s report (see `gan_style.evaluate.compare_folders`)."""
    lines = [f"{title}"]
    if "n_a" in result:
        lines.append(f"  images      {result['n_a']} vs {result['n_b']}")
    if result.get("fid") is not None:
        lines.append(f"  FID         {result['fid']:.2f}")
    if result.get("kid") is not None:
        lines.append(
            f"  KID         {result['kid']:.5f} ± {result['kid_std']:.5f}"
            f"   (×1000: {1000 * result['kid']:.2f} ± {1000 * result['kid_std']:.2f})"
        )
    if result.get("ssim") is not None:
        lines.append(f"  SSIM        {result['ssim']:.4f}   (to the inputs; 1 = unchanged)")
    if result.get("psnr") is not None:
        lines.append(f"  PSNR        {result['psnr']:.2f} dB (to the inputs, mean per image)")
    if result.get("small_sample_warning"):
        lines.append(f"  note: {result['small_sample_warning']}")
    if plot:
        lines.append(f"  chart: {plot}")
    return "\n".join(lines)


def _measured_keys(result: dict) -> tuple[str, str, str, str]:
    """(key of the measured report, its column title, key of the reference, its title)."""
    if result.get("model") == "dcgan":
        return "generated", "generated", "reference", "training images"
    return "transferred", "transferred", "baseline", "photos as they are"


def style_evaluation_table(result: dict, plot: str | None = None) -> str:
    """``evaluate --style``'s report (see `gan_style.evaluate.evaluate_style` for ``result``)."""
    generation = result.get("model") == "dcgan"
    measured, measured_title, reference, reference_title = _measured_keys(result)
    if generation:
        lines = [f"style {result['style']}: generated images against its held-out images"]
    else:
        lines = [
            f"style {result['style']}: its held-out photos, transferred, against its held-out "
            "images"
        ]
    if measured in result:
        counts = (
            f"{result['n_style_holdout']} style (held out: never trained on), "
            f"{result[measured]['n_b']} generated, {result[reference]['n_b']} training images"
            if generation
            else f"{result['n_style_holdout']} style, {result['n_photo_holdout']} photos "
            "(held out: never trained on)"
        )
        lines.append(f"  images      {counts}")
        lines.append(f"  {'':12s}{measured_title:>14s}{reference_title:>22s}")
        for key, label in (("fid", "FID"), ("kid", "KID ×1000")):
            if result[measured].get(key) is None:
                continue
            scale = 1000 if key == "kid" else 1
            cells = []
            for part in (measured, reference):
                value = scale * result[part][key]
                spread = f" ± {scale * result[part]['kid_std']:.2f}" if key == "kid" else ""
                cells.append(f"{value:.2f}{spread}")
            lines.append(f"  {label:<12s}{cells[0]:>14s}{cells[1]:>22s}")
        note = result[measured].get("small_sample_warning")
        if note:
            lines.append(f"  note: {note}")
    if result.get("ssim") is not None:
        lines.append(f"  SSIM        {result['ssim']:.4f}   (transfers vs their input photos)")
        lines.append(f"  PSNR        {result['psnr']:.2f} dB")
    recognition = result.get("recognition")
    if recognition:
        share, counts = recognition["style_share"], recognition["counts"]
        lines.append(
            f"  recognised as the style (a classifier fit on {recognition['n_style_train']} "
            f"style and {recognition['n_photo_train']} photo training images):"
        )
        for key, label in (
            ("transferred", "transferred photos"),
            ("photos", "photos as they are"),
            ("style_holdout", "held-out style images"),
        ):
            lines.append(f"    {label:<24s}{100 * share[key]:5.1f} %  of {counts[key]}")
    if result.get("reference_note"):
        lines.append(f"  note: {result['reference_note']}")
    obedience = result.get("reference_obedience")
    if obedience:
        lines += [
            f"  reference obeyed ({obedience['n_photos']} held-out photos × "
            f"{obedience['n_references']} held-out style images as references; the figures "
            "above use the collection's mean code):",
            f"    retrieval               {100 * obedience['retrieval']:5.1f} %  (nearest "
            f"reference is its own; chance {100 * obedience['chance']:.1f} %)",
            f"    matching                {100 * obedience['matching']:5.1f} %  (of one photo's "
            f"outputs, the nearest to a reference is its own; chance "
            f"{100 * obedience['chance']:.1f} %)",
            f"    outputs differ by       {obedience['pixel_distance']:.4f}  (mean pixel "
            "difference, 0-1, same photo, two references)",
            f"    feature distance        {obedience['feature_distance']:.2f}  (same photo, two "
            f"references; between the references {obedience['reference_feature_distance']:.2f}, "
            f"between photos {obedience['photo_feature_distance']:.2f})",
        ]
    if plot:
        lines.append(f"  chart: {plot}")
    return "\n".join(lines)


def package_export_table(summary: dict) -> str:
    """The report of `gan_style.package.export_package`."""
    lines = [f"packed style {summary['style']} → {summary['output']} ({_size(summary['bytes'])})"]
    for entry, size in summary["entries"].items():
        lines.append(f"  {entry:<40s} {_size(size):>10s}")
    return "\n".join(lines)


def package_import_table(summary: dict) -> str:
    """The report of `gan_style.package.import_package`."""
    verb = "replaced" if summary["replaced"] else "installed"
    return (
        f"{verb} style {summary['name']} from {summary['package']} → {summary['bundle']} "
        f"(checked: names, sizes, sha256, safe_mode load)"
    )


def export_table(summary: dict) -> str:
    """The report of `gan_style.export.export_style`."""
    lines = [
        f"exported style {summary['style']} as {summary['format']} → {summary['output']} "
        f"({_size(summary['bytes'])}, float32, input (batch, height, width, 3) in [-1, 1])"
    ]
    for check in summary["checks"]:
        height, width = check["shape"][1:3]
        lines.append(
            f"  checked on a {width}×{height} image against Keras: max |diff| "
            f"{check['max_abs_diff']:.2e}, mean |diff| {check['mean_abs_diff']:.2e}"
        )
    if summary.get("tolerance") is not None:
        lines.append(f"  within the tolerance of {summary['tolerance']:.0e}")
    lines.append(f"  {summary['usage']}")
    return "\n".join(lines)


def _size(size: float) -> str:
    if size < 1024:
        return f"{size:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            break
    return f"{size:.1f} {unit}"

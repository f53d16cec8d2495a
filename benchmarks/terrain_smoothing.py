"""DEM smoothing along ways: climb per way before and after, on real networks; Porto slopes.

For each network, the City is built twice from the same extract and DEM, without smoothing
(``smoothing_window_m=0``) and with the default window, and per OSM way (ground ways: no
bridges, tunnels, lifts, ferries) we compare the total climb ``Σ|Δz|`` over its pieces with
its net climb ``|z_last - z_first|`` (the ends of a way keep their heights, so the net
climb is the same in both). A DEM that climbs and falls with noise has total >> net.
Porto: the reference street slopes (PROVENANCE 5c) against ``line_slopes`` on the raw DEM
(the definition the reference uses), and against the same profiles smoothed per segment.
Independent references (slopes not computed from SRTM): Seattle's surveyed block slopes
(SDOT), Lisbon's from a 10 m DEM, and Porto's reference streets on a second DEM (Copernicus
EU-DEM 25 m), against SRTM sampled every 30 m, raw and smoothed.

    .venv/bin/python benchmarks/terrain_smoothing.py [--references-only]
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from shancheng.data.importer import ImportOptions, build_city
from shancheng.data.profile import SMOOTHING_WINDOW_M
from shancheng.data.terrain import line_slopes, read_dem
from shancheng.network.speed import FIXED_TIME_KINDS

SHARED = Path(__file__).resolve().parents[1].parent / "shared/data/networks"
NETWORKS = {
    "Monaco 2026 (Geofabrik)": (
        "osm/monaco_2026-07-10_geofabrik.osm.pbf",
        "dem/srtm3_v21/N43E007.hgt",
        (7.405, 43.724, 7.440, 43.752),
    ),
    "Monaco + hill towns 2016": (
        "osm/monaco_2016-03-05_osrm.osm.pbf",
        "dem/srtm3_v21/N43E007.hgt",
        (7.349, 43.710, 7.491, 43.770),
    ),
    "Porto centre 2020": (
        "osm/porto_centre_2020-07-20.osm.pbf",
        "dem/porto_srtm1_clip.tif",
        (-8.6212, 41.1400, -8.5937, 41.1561),
    ),
}


def per_way_climb(city) -> tuple[float, float, float, float]:
    """Total climb, net climb (m, summed over ground ways), and grade p99, share > 35 %."""
    seg = city.walk_segments
    z = city.walk_nodes.set_index("node_id")["z_m"]
    ground = (
        (~seg["elevated"])
        & (seg["osm_way_id"] >= 0)
        & (~seg["kind"].isin([int(k) for k in FIXED_TIME_KINDS]))
    )
    seg = seg[ground]
    dz = z.loc[seg["head"]].to_numpy() - z.loc[seg["tail"]].to_numpy()
    frame = seg.assign(abs_dz=np.abs(dz), dz=dz)
    by_way = frame.groupby("osm_way_id").agg(total=("abs_dz", "sum"), net=("dz", "sum"))
    length = frame.groupby("osm_way_id")["length_m"].sum()
    long_ways = by_way[length >= 500]
    grade = np.abs(dz) / np.maximum(seg["length_m"].to_numpy(), 0.1)
    return (
        float(by_way["total"].sum()),
        float(by_way["net"].abs().sum()),
        float(long_ways["total"].sum() / long_ways["net"].abs().sum()),
        float((grade > 0.35).mean()),
        len(long_ways),
    )


def porto_r2() -> tuple[float, float, int]:
    ref = gpd.read_file(SHARED / "slopes/porto_streets_slope_srtm1.gpkg")
    dem = read_dem(SHARED / "dem/porto_srtm1_clip.tif")
    raw, _ = line_slopes(ref.geometry.to_numpy(), dem)
    # the same vertices, smoothed as the importer smooths a way (ends kept)
    smoothed, _ = line_slopes(ref.geometry.to_numpy(), dem, window_m=SMOOTHING_WINDOW_M)
    reference = ref["slope"].to_numpy()

    def r2(computed):
        ok = np.isfinite(computed)
        residual = np.sum((reference[ok] - computed[ok]) ** 2)
        return 1.0 - residual / np.sum((reference[ok] - reference[ok].mean()) ** 2)

    return float(r2(raw)), float(r2(smoothed)), int(np.isfinite(raw).sum())


def independent_references() -> None:
    """SRTM slopes, raw and smoothed, against slopes nobody computed from SRTM."""
    from scipy.stats import pearsonr

    cases = (
        ("Seattle (SDOT surveyed, SLOPE_PCT)", "slopes/seattle_magnolia_sdot_slopes.gpkg",
         "SLOPE_PCT", "dem/seattle_srtm1_clip.tif"),
        ("Lisbon (10 m DEM, ArcGIS Avg_Slope)", "slopes/lisbon_road_network_slopes.gpkg",
         "Avg_Slope", "dem/lisbon_srtm1_clip.tif"),
        ("Porto (EU-DEM 25 m, the same slope rule every 25 m)", "slopes/porto_streets_slope_srtm1.gpkg",
         "dem/porto_eudem25m_clip_epsg3035.tif", "dem/porto_srtm1_clip.tif"),
    )  # fmt: skip
    print(
        "| reference | segments | R² raw → smoothed | median slope raw → smoothed | reference median |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, path, column, dem_path in cases:
        ref = gpd.read_file(SHARED / path).to_crs(4326)
        dem = read_dem(SHARED / dem_path)
        lines = ref.geometry.to_numpy()
        raw, _ = line_slopes(lines, dem, step_m=30.0)
        smooth, _ = line_slopes(lines, dem, step_m=30.0, window_m=SMOOTHING_WINDOW_M)
        if column.startswith("dem/"):  # a second DEM of the same streets, sampled alike
            truth, _ = line_slopes(lines, read_dem(SHARED / column), step_m=25.0)
            truth = 100.0 * truth
        else:
            truth = ref[column].to_numpy(dtype=float)
        ok = np.isfinite(truth) & np.isfinite(raw) & np.isfinite(smooth)
        r_raw = pearsonr(truth[ok], raw[ok]).statistic ** 2
        r_smooth = pearsonr(truth[ok], smooth[ok]).statistic ** 2
        print(
            f"| {name} | {ok.sum():,} | {r_raw:.3f} → {r_smooth:.3f} | "
            f"{np.median(100 * raw[ok]):.2f} % → {np.median(100 * smooth[ok]):.2f} % | "
            f"{np.median(truth[ok]):.2f} % |"
        )


def main() -> int:
    warnings.simplefilter("ignore")
    print(f"load average {os.getloadavg()[0]:.1f}; window {SMOOTHING_WINDOW_M:g} m")
    independent_references()
    if "--references-only" in sys.argv:
        return 0
    print(
        "| network | ground ways' total climb, raw → smoothed (m) | net climb, raw → smoothed "
        "(m) | total / net, raw → smoothed | ways ≥ 500 m: total / net | pieces > 35 %, raw → "
        "smoothed (before the cap) | capped share of pieces (of length) | import s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (osm, dem, bbox) in NETWORKS.items():
        results = []
        for window in (0.0, SMOOTHING_WINDOW_M):
            started = time.perf_counter()
            city, report = build_city(
                ImportOptions(
                    osm=SHARED / osm,
                    dem=SHARED / dem,
                    area=shapely.box(*bbox),
                    smoothing_window_m=window,
                )
            )
            results.append((per_way_climb(city), report.figures, time.perf_counter() - started))
        (t0, n0, l0, s0, k), _, _ = results[0]
        (t1, n1, l1, s1, _), figures, seconds = results[1]
        print(
            f"| {name} | {t0:,.0f} → {t1:,.0f} ({t1 / t0 - 1:+.1%}) | {n0:,.0f} → {n1:,.0f} | "
            f"{t0 / n0:.2f} → {t1 / n1:.2f} | {l0:.2f} → {l1:.2f} ({k} ways) | "
            f"{s0:.2%} → {s1:.2%} | {figures['pieces_grade_capped_share']:.2%} "
            f"({figures['length_grade_capped_share']:.2%} of length) | "
            f"{seconds:.1f} |"
        )
    raw, smoothed, n = porto_r2()
    print(
        f"Porto reference slopes ({n:,} segments): R² raw line_slopes {raw:.4f}; "
        f"smoothed per segment ({SMOOTHING_WINDOW_M:g} m window, ends kept) {smoothed:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

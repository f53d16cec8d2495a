"""DEM sampling, void filling, slopes and bridge heights, checked by hand and on real data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.interpolate import RegularGridInterpolator
from scipy.stats import spearmanr

from shancheng.data.terrain import (
    bilinear,
    interpolate_elevated,
    line_slopes,
    read_dem,
    sample_heights,
)
from shancheng.errors import DemCoverageError, DemError

pytestmark = pytest.mark.filterwarnings("error")


def pearson_r2(reference, computed):
    """Squared Pearson correlation: the R² PROVENANCE reports for Lisbon and Seattle."""
    return float(np.corrcoef(np.asarray(reference, float), np.asarray(computed, float))[0, 1] ** 2)


def r_squared(reference, computed):
    """Coefficient of determination of ``computed`` as a prediction of ``reference`` (1 - SSR/SST)."""
    reference, computed = np.asarray(reference), np.asarray(computed)
    residual = np.sum((reference - computed) ** 2)
    return 1.0 - residual / np.sum((reference - reference.mean()) ** 2)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 9), st.integers(2, 9), st.integers(0, 2**31 - 1))
def test_bilinear_agrees_with_scipy_between_pixel_centres(n_rows, n_cols, seed):
    rng = np.random.default_rng(seed)
    grid = rng.normal(size=(n_rows, n_cols)) * 50
    transform = Affine(2.0, 0.0, 100.0, 0.0, -3.0, 500.0)  # 2 x 3 m pixels
    xs = 100.0 + 2.0 * (np.arange(n_cols) + 0.5)
    ys = 500.0 - 3.0 * (np.arange(n_rows) + 0.5)
    reference = RegularGridInterpolator((ys[::-1], xs), grid[::-1], method="linear")
    px = rng.uniform(xs[0], xs[-1], 50)
    py = rng.uniform(ys[-1], ys[0], 50)
    ours = bilinear(grid, transform, px, py)
    np.testing.assert_allclose(ours, reference(np.column_stack([py, px])), atol=1e-9)


def test_bilinear_is_nan_outside_the_raster():
    grid = np.ones((3, 3))
    t = Affine(1.0, 0.0, 0.0, 0.0, -1.0, 3.0)
    values = bilinear(grid, t, np.array([-0.6, 3.6, 1.0, 2.9]), np.array([1.0, 1.0, 3.7, 0.1]))
    assert np.isnan(values[:3]).all()
    assert values[3] == 1.0  # within half a pixel of the edge: the edge cell's value


def test_bridge_heights_interpolate_between_its_ground_ends():
    # ground 0 (10 m) - bridge nodes 1, 2 over a 0 m river - ground 3 (40 m); 4 is a lone
    # elevated stub with no ground end: it keeps its DEM height.
    z = np.array([10.0, 0.0, 0.0, 40.0, 7.0, 7.0])
    elevated = np.array([False, True, True, False, True, True])
    out = interpolate_elevated(
        z,
        elevated,
        np.array([0, 1, 2, 4]),
        np.array([1, 2, 3, 5]),
        np.array([10.0, 20.0, 30.0, 5.0]),
    )
    np.testing.assert_allclose(out, [10.0, 15.0, 25.0, 40.0, 7.0, 7.0])


def test_srtm_voids_are_filled_in_the_monaco_window(shared_data):
    hgt = shared_data / "networks/dem/srtm3_v21/N43E007.hgt"
    dem = read_dem(hgt, bounds_lonlat=(7.40, 43.71, 7.50, 43.77), margin_pixels=0)
    assert dem.voids_filled == 13  # PROVENANCE: 13 voids in this window
    assert dem.voids_left == 0
    assert np.isfinite(dem.heights_m).all()
    # Spot heights from PROVENANCE (bilinear): central Monte-Carlo 61 m, La Turbie 479 m.
    z = dem.sample([7.4246], [43.7384])
    assert z[0] == pytest.approx(61.0, abs=1.0)


def test_filled_voids_lie_within_the_range_of_their_neighbours(shared_data):
    hgt = shared_data / "networks/dem/srtm3_v21/N43E007.hgt"
    raw = read_dem(hgt, bounds_lonlat=(7.0, 43.0, 8.0, 44.0), margin_pixels=0)
    assert raw.voids_filled > 1_000  # PROVENANCE: 1,595 voids in the whole tile
    assert np.nanmin(raw.heights_m) >= -100
    assert np.nanmax(raw.heights_m) <= 3_200  # highest point of the tile ~3,100 m (Alps)


def test_porto_slopes_reproduce_the_reference_set(shared_data):
    """PROVENANCE 5c: Σ|Δz|/length, bilinear at vertices, haversine → R² = 1.0000."""
    ref = gpd.read_file(shared_data / "networks/slopes/porto_streets_slope_srtm1.gpkg")
    dem = read_dem(shared_data / "networks/dem/porto_srtm1_clip.tif")
    slope, length = line_slopes(ref.geometry.to_numpy(), dem)
    ok = np.isfinite(slope)
    # 5 of 13,738 long segments reach past the clip's edge: NaN, never a made-up height.
    assert (~ok).sum() == 5
    clip = shapely.box(-8.7021, 41.1338, -8.5485, 41.1926)
    assert not shapely.within(ref.geometry.to_numpy()[~ok], clip).any()
    assert (length[~ok] > 0).all()
    reference = ref["slope"].to_numpy()[ok]
    assert r_squared(reference, slope[ok]) >= 0.99
    assert np.median(np.abs(reference - slope[ok])) < 0.0001
    assert np.percentile(np.abs(reference - slope[ok]), 95) < 0.001
    assert pearson_r2(reference, slope[ok]) >= 0.9999


def test_lisbon_dem_without_crs_is_refused_then_placed_when_given(shared_data):
    path = shared_data / "networks/dem/lisbon_dem10m_pttm06_nocrs.tif"
    with pytest.raises(DemError, match=r"declares no coordinate reference system.*--dem-crs"):
        read_dem(path)
    dem = read_dem(path, crs="EPSG:3763")
    with pytest.raises(DemError, match="EPSG:3763"):
        read_dem(shared_data / "networks/dem/porto_srtm1_clip.tif", crs="EPSG:3763")
    ref = gpd.read_file(shared_data / "networks/slopes/lisbon_road_network_slopes.gpkg")
    lines = ref.to_crs(4326).geometry.to_numpy()
    coords, index = shapely.get_coordinates(lines, return_index=True)
    z = dem.sample(coords[:, 0], coords[:, 1])
    z_mean = np.bincount(index, weights=z) / np.bincount(index)
    ok = np.isfinite(z_mean)
    assert (~ok).sum() == 1  # one vertex lies 0.4 m west of the DEM's edge
    z_ref = ref["Z_Mean"].to_numpy()[ok]
    # PROVENANCE: Z_Mean R² 0.9974 (median |Δz| 0.04 m); slope vs Avg_Slope R² 0.951.
    assert pearson_r2(z_ref, z_mean[ok]) >= 0.995
    assert np.median(np.abs(z_ref - z_mean[ok])) < 0.2
    slope, _ = line_slopes(lines, dem)
    avg = ref["Avg_Slope"].to_numpy()[ok]
    assert pearson_r2(avg, 100 * slope[ok]) >= 0.94
    assert np.median(100 * slope[ok]) == pytest.approx(3.53, abs=0.1)  # ArcGIS: 2.71 %
    # Coarse SRTM on the same segments: heights still fine, slopes poor (R² 0.148).
    srtm = read_dem(shared_data / "networks/dem/lisbon_srtm1_clip.tif")
    z_srtm = srtm.sample(coords[:, 0], coords[:, 1])
    z_srtm_mean = np.bincount(index, weights=z_srtm) / np.bincount(index)
    assert pearson_r2(ref["Z_Mean"], z_srtm_mean) > 0.96  # PROVENANCE 0.972
    slope_srtm, _ = line_slopes(lines, srtm)
    assert pearson_r2(ref["Avg_Slope"], 100 * slope_srtm) < 0.2  # PROVENANCE 0.148
    assert np.median(100 * slope_srtm) == pytest.approx(6.52, abs=0.2)


def test_seattle_slopes_agree_with_the_city_at_the_published_level(shared_data):
    ref = gpd.read_file(shared_data / "networks/slopes/seattle_magnolia_sdot_slopes.gpkg")
    ref = ref[ref["SLOPE_PCT"].notna()]
    dem = read_dem(shared_data / "networks/dem/seattle_srtm1_clip.tif")
    slope, _ = line_slopes(ref.geometry.to_numpy(), dem)
    official = ref["SLOPE_PCT"].to_numpy(dtype=float)
    # PROVENANCE: R² 0.639, Spearman 0.746, medians 4.34 % vs 4.00 %.
    assert 0.60 <= pearson_r2(official, 100 * slope) <= 0.68
    assert spearmanr(official, slope).statistic == pytest.approx(0.746, abs=0.02)
    assert np.median(100 * slope) == pytest.approx(4.34, abs=0.3)


def test_porto_eu_dem_in_laea_agrees_with_srtm(shared_data):
    """The EPSG:3035 EU-DEM is sampled in its own CRS: heights match SRTM to a few metres."""
    bounds = (-8.62, 41.14, -8.60, 41.155)
    eudem = read_dem(
        shared_data / "networks/dem/porto_eudem25m_clip_epsg3035.tif", bounds_lonlat=bounds
    )
    srtm = read_dem(shared_data / "networks/dem/porto_srtm1_clip.tif", bounds_lonlat=bounds)
    rng = np.random.default_rng(3)
    lon = rng.uniform(bounds[0], bounds[2], 300)
    lat = rng.uniform(bounds[1], bounds[3], 300)
    a, b = sample_heights(eudem, lon, lat), sample_heights(srtm, lon, lat)
    assert np.corrcoef(a, b)[0, 1] > 0.9
    assert np.median(np.abs(a - b)) < 8.0


def test_dem_not_covering_the_area_is_a_clear_error(shared_data):
    porto = shared_data / "networks/dem/porto_srtm1_clip.tif"
    with pytest.raises(DemCoverageError, match=r"does not overlap the area"):
        read_dem(porto, bounds_lonlat=(7.40, 43.71, 7.50, 43.77))  # Monaco
    dem = read_dem(porto, bounds_lonlat=(-8.62, 41.10, -8.60, 41.16))  # partly south of it
    with pytest.raises(DemCoverageError, match=r"1 of 2 walk nodes \(50.0%\) lie outside"):
        sample_heights(dem, [-8.61, -8.61], [41.15, 41.11])


def test_unreadable_dem_names_the_file(tmp_path):
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"not a tiff")
    with pytest.raises(DemError, match="broken.tif"):
        read_dem(bad)


def test_densified_raw_slopes_equal_the_vertex_slopes_on_a_plane():
    """On a tilted plane every sample lies on the line: densifying changes nothing."""
    import shapely
    from affine import Affine
    from pyproj import CRS

    from shancheng.data.terrain import Dem

    # a plane rising 1 m per 0.0001° of longitude, north-up, 0.0001° cells
    x0, y0, cell = 7.40, 43.70, 1e-4
    heights = np.tile(np.arange(200, dtype=np.float64), (200, 1))
    transform = Affine(cell, 0.0, x0, 0.0, -cell, y0 + 200 * cell)
    dem = Dem(heights, transform, CRS.from_epsg(4326), "plane")
    lines = [shapely.LineString([(7.401, 43.701), (7.405, 43.701), (7.405, 43.705)])]
    plain, length = line_slopes(lines, dem)
    dense, dense_length = line_slopes(lines, dem, step_m=7.0)
    smooth, _ = line_slopes(lines, dem, step_m=7.0, window_m=150.0)
    assert dense_length == pytest.approx(length, rel=1e-9)
    # 40 m of rise over the east-west leg only; smoothing a ramp that ends in a flat leg
    # can only lower the climb (never below the net rise)
    assert dense == pytest.approx(plain, rel=1e-6)
    assert plain[0] * length[0] == pytest.approx(40.0, rel=1e-6)
    assert smooth[0] * length[0] <= plain[0] * length[0] + 1e-9


def test_smoothing_moves_srtm_towards_independent_slopes(shared_data):
    """Smoothed as the importer does, SRTM slopes agree better with slopes nobody computed
    from SRTM: Seattle's own surveyed block slopes (SDOT), and Lisbon's from a 10 m DEM."""
    from scipy.stats import pearsonr

    ref = gpd.read_file(shared_data / "networks/slopes/seattle_magnolia_sdot_slopes.gpkg")
    ref = ref[ref["SLOPE_PCT"].notna()]
    dem = read_dem(shared_data / "networks/dem/seattle_srtm1_clip.tif")
    official = ref["SLOPE_PCT"].to_numpy(dtype=float)
    raw, _ = line_slopes(ref.geometry.to_numpy(), dem, step_m=30.0)
    smooth, _ = line_slopes(ref.geometry.to_numpy(), dem, step_m=30.0, window_m=150.0)
    r2_raw = pearsonr(official, 100 * raw).statistic ** 2
    r2_smooth = pearsonr(official, 100 * smooth).statistic ** 2
    assert r2_smooth > r2_raw + 0.03  # measured: 0.59 -> 0.64
    gap_raw = abs(np.median(100 * raw) - np.median(official))
    assert abs(np.median(100 * smooth) - np.median(official)) < gap_raw  # 4.7 % -> 4.3 % vs 4.0 %

    lisbon = gpd.read_file(shared_data / "networks/slopes/lisbon_road_network_slopes.gpkg")
    lisbon = lisbon.to_crs(4326)
    srtm = read_dem(shared_data / "networks/dem/lisbon_srtm1_clip.tif")
    avg = lisbon["Avg_Slope"].to_numpy(dtype=float)
    raw, _ = line_slopes(lisbon.geometry.to_numpy(), srtm, step_m=30.0)
    smooth, _ = line_slopes(lisbon.geometry.to_numpy(), srtm, step_m=30.0, window_m=150.0)
    ok = np.isfinite(avg) & np.isfinite(raw) & np.isfinite(smooth)
    # the 10 m DEM's median is 2.7 %: SRTM's 5.9 % comes down to 5.1 %
    assert np.median(100 * smooth[ok]) < np.median(100 * raw[ok]) - 0.5
    assert np.median(100 * smooth[ok]) > np.median(avg[ok])


def test_porto_reference_is_srtm_texture_and_smoothing_moves_towards_eu_dem(shared_data):
    """Why smoothed slopes may leave the Porto reference: it is Σ|Δz| on the raw SRTM itself.

    The raw slope code reproduces it; a second DEM of the same streets (EU-DEM 25 m) agrees
    with it per segment only weakly, and smoothing brings SRTM's median slope towards that
    DEM's while keeping the per-segment agreement with it.
    """
    from scipy.stats import pearsonr

    ref = gpd.read_file(shared_data / "networks/slopes/porto_streets_slope_srtm1.gpkg")
    lines = ref.geometry.to_numpy()
    srtm = read_dem(shared_data / "networks/dem/porto_srtm1_clip.tif")
    eudem = read_dem(shared_data / "networks/dem/porto_eudem25m_clip_epsg3035.tif")
    raw, _ = line_slopes(lines, srtm)
    reference = ref["slope"].to_numpy()
    assert np.nanmax(np.abs(raw - reference)) < 0.005  # the slope code is the reference's
    other, _ = line_slopes(lines, eudem, step_m=25.0)
    dense_raw, _ = line_slopes(lines, srtm, step_m=30.0)
    smooth, _ = line_slopes(lines, srtm, step_m=30.0, window_m=150.0)
    ok = np.isfinite(other) & np.isfinite(dense_raw) & np.isfinite(smooth)
    r2_raw = pearsonr(other[ok], dense_raw[ok]).statistic ** 2
    r2_smooth = pearsonr(other[ok], smooth[ok]).statistic ** 2
    assert r2_raw < 0.5  # measured 0.33: two DEMs disagree at 46 m segments
    assert r2_smooth > r2_raw - 0.01  # smoothing loses nothing of what they share
    median_other = np.median(other[ok])
    # measured: 4.5 % -> 4.0 % against EU-DEM's 3.0 %
    assert (
        abs(np.median(smooth[ok]) - median_other)
        < abs(np.median(dense_raw[ok]) - median_other) - 0.003
    )

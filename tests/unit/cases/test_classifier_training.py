"""Building the department model: the real files read with checks, the artifact reproducible."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from shancheng.cases.classifier_training import (
    TIPDM_CATEGORY,
    build_department_model,
    department_training_set,
    main,
    read_fulltext,
    read_segmented,
    read_tipdm_taxonomy,
    tipdm_departments,
)
from shancheng.cases.classify import OTHER_GROUP, load_department_model
from shancheng.errors import InputError, MissingColumnError


def test_each_tipdm_class_has_its_own_department(taxonomy):
    departments = tipdm_departments(taxonomy)
    assert len(set(departments.values())) == len(TIPDM_CATEGORY) == 7
    assert departments["教育文体"] == "education"
    assert departments["劳动和社会保障"] == "human_resources"
    assert all(taxonomy.category(code).group_zh == "民生诉求" for code in TIPDM_CATEGORY.values())


def test_training_set_puts_our_names_under_their_department_or_other(taxonomy):
    texts, labels = department_training_set(["拖欠工资"], ["劳动和社会保障"], taxonomy)
    assert (texts[0], labels[0]) == ("拖欠工资", "human_resources")
    by_text = dict(zip(texts, labels, strict=True))
    assert by_text["路灯"] == OTHER_GROUP  # street lighting: no real message names it
    assert by_text["噪声扰民问题"] == "ecology_environment"  # E0601's department has messages


def test_bad_files_are_named_with_the_line(tmp_path):
    bad = tmp_path / "seg.csv"
    bad.write_text("tokens,label\n拖欠 工资,劳动和社会保障\n下雨,天气\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"seg.csv, line 3: class '天气' is not one of"):
        read_segmented(bad)
    bad.write_text("tokens,label\n ,教育文体\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"seg.csv, line 2: empty message text"):
        read_segmented(bad)
    bad.write_text("text,label\n拖欠,教育文体\n", encoding="utf-8")
    with pytest.raises(MissingColumnError, match=r"seg.csv: column\(s\) \['tokens'\] missing"):
        read_segmented(bad)
    with pytest.raises(InputError, match=r"nothing.csv: no such file"):
        read_fulltext(tmp_path / "nothing.csv")
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "m.npz")]) == 1
    assert not (tmp_path / "m.npz").exists()


def test_tipdm_taxonomy_phrases_by_hand(tmp_path):
    path = tmp_path / "tax.csv"
    path.write_text(
        "一级分类,二级分类,三级分类\n教育文体,教育收费,乱收费\n教育文体,其他,其他\n"
        "民政,婚姻登记,其他\n",
        encoding="utf-8",
    )
    texts, labels = read_tipdm_taxonomy(path)
    assert sorted(texts) == ["乱收费", "教育收费乱收费"]  # "其他" rows and classes left out
    assert labels == ["教育文体"] * 2


@pytest.mark.data
def test_the_shipped_model_is_what_make_classifier_builds(shared_data, taxonomy):
    """Rebuilding from the real messages gives the shipped arrays: the artifact is reproducible."""
    shipped = load_department_model()
    rebuilt = build_department_model(shared_data / "complaints", taxonomy)
    assert rebuilt.classes == shipped.classes and rebuilt.vocabulary == shipped.vocabulary
    # the shipped weights are float32: a float64 solve that differs in its last bits (BLAS
    # threads sum in a different order) may round a handful of them one float32 step apart
    np.testing.assert_allclose(rebuilt.coef, shipped.coef, rtol=1e-6, atol=1e-7)
    assert np.mean(rebuilt.coef != shipped.coef) < 1e-3
    np.testing.assert_array_equal(rebuilt.idf, shipped.idf)
    assert shipped.meta["trained_on"]["messages"] == 6866


@pytest.mark.slow
def test_the_wheel_carries_the_model_and_serves_from_it(tmp_path):
    """A fresh install needs no ../shared: the wheel's own copy of the model answers."""
    root = Path(__file__).resolve().parents[3]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(root),
        ],
        check=True,
        timeout=600,
    )
    [wheel] = tmp_path.glob("shancheng-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        size = archive.getinfo("shancheng/cases/department_model.npz").file_size
        archive.extractall(tmp_path / "site")
    assert 100_000 < size < 5_000_000
    script = (
        "import shancheng\n"
        "from shancheng.cases.classify import TaxonomyClassifier\n"
        "from shancheng.cases.taxonomy import load_taxonomy\n"
        "model, taxonomy = TaxonomyClassifier(load_taxonomy())()\n"
        "code = model.propose('公司拖欠工资三个月')[0].label\n"
        "print(shancheng.__file__, taxonomy.category(code).department)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
    ).stdout
    where, department = out.split()
    assert where.startswith(str(tmp_path / "site")) and department == "human_resources"

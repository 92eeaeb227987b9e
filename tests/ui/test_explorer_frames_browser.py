"""A file of several frames uploaded through the page's file input in headless Chromium: the frame
chooser appears, choosing frame 2 loads that frame; a periodic crystal is answered in one line."""

from __future__ import annotations

import re

import ase.io
import pytest
from ase.build import bulk, molecule
from ase.calculators.singlepoint import SinglePointCalculator
from explorer_readout import READOUT

pytestmark = pytest.mark.browser


def _open_file_source(page, url):
    page.goto(url)
    page.locator(READOUT).first.wait_for(timeout=90_000)  # the first scan is drawn
    page.get_by_role("button", name="File", exact=True).click()
    picker = page.locator("input[type=file]").first
    picker.wait_for(state="attached", timeout=10_000)
    return picker


def test_choosing_a_frame_of_an_uploaded_trajectory(app_url, watched_page, tmp_path, shot_path):
    page = watched_page.page
    picker = _open_file_source(page, app_url)
    frames = []
    for k, name in enumerate(("H2O", "CH4", "CH3CH2OH")):
        atoms = molecule(name)
        atoms.calc = SinglePointCalculator(atoms, energy=-1.5 * k)
        frames.append(atoms)
    path = tmp_path / "three.extxyz"
    ase.io.write(path, frames)
    chooser = page.get_by_role("combobox", name="Frame", exact=True)  # only a shown element has a role
    assert chooser.count() == 0  # no chooser before a file of several frames

    picker.set_input_files(str(path))
    info = page.locator(".wqml-molinfo")
    info.get_by_text(re.compile(r"three \(frame 0\) · H2O · 3 atoms")).wait_for(timeout=30_000)
    chooser.wait_for(timeout=15_000)
    options = chooser.locator("option").all_inner_texts()
    assert options == ["0: H2O, E = 0 eV", "1: CH4, E = -1.5 eV", "2: C2H6O, E = -3 eV"]

    chooser.select_option(label="2: C2H6O, E = -3 eV")
    info.get_by_text(re.compile(r"three \(frame 2\) · C2H6O · 9 atoms")).wait_for(timeout=30_000)
    page.locator(READOUT).first.wait_for(timeout=30_000)  # the new scan is drawn
    page.screenshot(path=str(shot_path), full_page=True)

    crystal = tmp_path / "cu.cif"
    ase.io.write(crystal, bulk("Cu"))
    picker.set_input_files(str(crystal))
    page.get_by_text(re.compile(r"cu\.cif: frame 0 is periodic .*isolated molecules")).wait_for(timeout=15_000)
    info.get_by_text(re.compile(r"\(frame 2\)")).wait_for()  # the molecule is kept
    assert watched_page.errors == [] and watched_page.outside == []

"""The wavelet colour fix on its own."""

import numpy as np

from misc_worker.colorfix import low_frequency, wavelet_color_fix


def test_a_flat_image_is_all_low_frequency():
    flat = np.full((20, 30, 3), 0.3)
    assert np.allclose(low_frequency(flat), flat)


def test_fixing_an_image_with_itself_changes_nothing():
    x = np.random.default_rng(0).random((24, 40, 3))
    assert np.allclose(wavelet_color_fix(x, x), x)


def test_low_frequencies_come_from_the_condition_high_from_the_output():
    rng = np.random.default_rng(1)
    texture = rng.random((64, 64, 3)) * 0.2
    dark, bright = np.full((64, 64, 3), 0.2), np.full((64, 64, 3), 0.7)
    fixed = wavelet_color_fix(dark + texture, bright)
    assert abs(fixed.mean() - 0.7) < 0.02  # the condition's level: the texture's mean is low frequency too
    assert np.std(fixed - bright) > 0.04  # the output's texture kept

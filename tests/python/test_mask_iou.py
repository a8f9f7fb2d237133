"""tools/mask_iou.py: IoU of an engine mask raster against a label raster, nodata left out."""
import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

import numpy as np  # noqa: E402
from osgeo import gdal  # noqa: E402

import mask_iou  # noqa: E402


def write(path, array, dtype):
    ds = gdal.GetDriverByName("GTiff").Create(path, array.shape[1], array.shape[0], 1, dtype)
    ds.GetRasterBand(1).WriteArray(array)
    ds = None


class MaskIou(unittest.TestCase):
    def test_counts_leave_out_label_nodata_and_mask_outside(self):
        label = np.array([[1, 1, 0, -1], [0, 1, 0, 0]], dtype=np.int16)
        mask = np.array([[1, 0, 1, 1], [0, 1, 255, 0]], dtype=np.uint8)
        # valid: all but (0,3) (label nodata) and (1,2) (mask outside) -> 6 pixels
        # pred {(0,0),(0,2),(1,1)}, truth {(0,0),(0,1),(1,1)}: intersection 2, union 4
        with tempfile.TemporaryDirectory() as tmp:
            m, lab = os.path.join(tmp, "m.tif"), os.path.join(tmp, "l.tif")
            write(m, mask, gdal.GDT_Byte)
            write(lab, label, gdal.GDT_Int16)
            out = io.StringIO()
            with redirect_stdout(out):
                self.assertEqual(mask_iou.main([m, lab, "--json"]), 0)
            got = json.loads(out.getvalue())
        self.assertEqual((got["intersection"], got["union"], got["valid"]), (2, 4, 6))
        self.assertAlmostEqual(got["iou"], 0.5)

    def test_size_mismatch_is_an_error_naming_the_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            m, lab = os.path.join(tmp, "m.tif"), os.path.join(tmp, "l.tif")
            write(m, np.zeros((2, 3), np.uint8), gdal.GDT_Byte)
            write(lab, np.zeros((3, 3), np.int16), gdal.GDT_Int16)
            err = io.StringIO()
            from contextlib import redirect_stderr
            with redirect_stderr(err):
                self.assertEqual(mask_iou.main([m, lab]), 1)
        self.assertIn(m, err.getvalue())


if __name__ == "__main__":
    unittest.main()

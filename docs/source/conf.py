"""Sphinx configuration of the project's documentation site (`make docs`).

Pages are Markdown (MyST). The pipeline READMEs and conf files are included, not
copied; the reference pages (architecture picture, pipeline contracts, parameters,
catalog, make targets) are generated from the project at build time by
``_ext/project_pages.py`` into ``generated/`` (git-ignored).
"""

import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent
sys.path.insert(0, str(SOURCE / "_ext"))
sys.path.insert(0, str(SOURCE.parents[1] / "src"))

from student_performance import __version__  # noqa: E402

project = "student-performance"
author = "the student-performance team"
copyright = "the student-performance team"  # noqa: A001 - Sphinx's name
release = __version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "project_pages",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
language = "en"
exclude_patterns = ["_build", "build", "**.ipynb_checkpoints"]

myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
# Module docstrings shown on the pages; no member lists.
autodoc_default_options = {"members": False}

html_theme = "sphinx_rtd_theme"
html_title = "student-performance"
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {"collapse_navigation": False, "navigation_depth": 3}

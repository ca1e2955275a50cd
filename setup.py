"""The classifier's optional C modules; everything else about the package is in pyproject.toml.

`optional=True`: where no C compiler is available the install still succeeds and the classifier
uses its Python paths (the numpy scorer in gateway/classify/model.py, the text scan in
gateway/classify/textscan.py), which give the same categories.
"""

from setuptools import Extension, setup

setup(ext_modules=[
    # Each module is one translation unit: the other .c files are #included by its main file.
    Extension("gateway.classify._score", ["gateway/classify/_score.c"], optional=True,
              depends=["gateway/classify/_score_groups.c", "gateway/classify/_score_request.c",
                       "gateway/classify/_score_tokens.c"]),
    Extension("gateway.classify._scan", ["gateway/classify/_scan.c"], optional=True,
              depends=["gateway/classify/_scan_text.c"]),
])

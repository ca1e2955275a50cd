"""The classifier's optional C scoring loop; everything else about the package is in pyproject.toml.

`optional=True`: where no C compiler is available the install still succeeds and the classifier
uses its numpy path (gateway/classify/model.py), which gives the same categories.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("gateway.classify._score", ["gateway/classify/_score.c"], optional=True)])

"""Packaging that pyproject.toml cannot express: pipelines/ shipped inside the corpuskit package.

`corpuskit clean` and `corpuskit dedup` run pipelines/clean.yaml and pipelines/dedup.yaml.
The files stay where users look for pipelines (the top of the repository, next to
default.yaml) and a wheel carries them as corpuskit/pipelines/*.yaml, where
`corpuskit.presets.pipelines_dir` finds them. Doing this in pyproject.toml would need an
explicit list of every package instead of `find_packages` (`package-dir` cannot be combined
with `packages.find`), and a package added later would silently be missing from the wheel.
trainer/configs/ and trainer/tasks/ (data, no __init__.py) are listed too: setuptools warns about a folder
Python could import that is not among the packages. Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["corpuskit*", "trainer*"]) + ["corpuskit.pipelines", "trainer.configs", "trainer.tasks",
                                                                       "corpuskit.ablation.heldout", "corpuskit.models.quality"],
    package_dir={"corpuskit.pipelines": "pipelines"},
)

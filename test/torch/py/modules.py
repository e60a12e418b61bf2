"""Loading a module resnetc generated, for the tests' Python scripts."""
import importlib.util
import os


def load_module(path):
    """The Python module at `path`, imported under its file's name."""
    spec = importlib.util.spec_from_file_location(
        os.path.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

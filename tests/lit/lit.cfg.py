# lit configuration for nabla's FileCheck tests (tests/lit/<area>/*.nabla).
# Loaded from the build tree's lit.site.cfg.py, which sets the paths below:
#   python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv <build>/tests/lit
import os
import re

import lit.formats

config.name = "nabla"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".nabla"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
# lit writes its temporary files here, never into the source tree.
config.test_exec_root = os.path.join(config.nabla_binary_dir, "tests", "lit")

# Tools by name: RUN lines say `nabla-opt`, `FileCheck`, `not`, ...
tools = {
    "nabla-opt": os.path.join(config.nabla_tools_dir, "nabla-opt"),
    "nabla-run": os.path.join(config.nabla_tools_dir, "nabla-run"),
    "nablac": os.path.join(config.nabla_tools_dir, "nablac"),
    "nabla-gradbench": os.path.join(config.nabla_tools_dir, "nabla-gradbench"),
    "FileCheck": os.path.join(config.llvm_tools_dir, "FileCheck"),
    "not": os.path.join(config.llvm_tools_dir, "not"),
}
for name, path in tools.items():
    # Only whole words that are not part of a path or a longer name.
    pattern = r"(?<![\w/.-])" + re.escape(name) + r"(?![\w/.-])"
    config.substitutions.append((pattern, path))

config.environment["PATH"] = os.pathsep.join(
    [config.nabla_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")]
)

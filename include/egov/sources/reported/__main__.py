"""`python -m egov.sources.reported template|take|sample ...`: the command the CCHC office was
given, run by `egov.pipeline.reported` (a template needs the plans and the unit tree, which a
source package does not import; docs/architecture.md). Started by name, so the source
imports nothing of the stages."""

import runpy

if __name__ == "__main__":
    runpy.run_module("egov.pipeline.reported", run_name="__main__", alter_sys=True)

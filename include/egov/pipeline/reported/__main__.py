"""python -m egov.pipeline.reported template --plan CODE --year Y [--out FILE]
python -m egov.pipeline.reported take   (take the inbox once; the DAG egov_reported does it)"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m egov.pipeline.reported",
                                     description="Figures reported by units (templates, inbox)")
    sub = parser.add_subparsers(dest="command", required=True)
    template = sub.add_parser("template", help="write the XLSX template of a plan's year")
    template.add_argument("--plan", required=True)
    template.add_argument("--year", required=True, type=int)
    template.add_argument("--out", default=None)
    sub.add_parser("take", help="take every new file of the inbox")
    sample = sub.add_parser("sample", help="drop a filled SAMPLE file (demo figures, not real"
                                           " ones) of a plan's year into the inbox")
    sample.add_argument("--plan", required=True)
    sample.add_argument("--year", required=True, type=int)
    args = parser.parse_args(argv)
    from egov.compute.plans import PlanError

    if args.command == "template":
        from egov.pipeline.reported.template import make_template

        try:
            path = make_template(args.plan, args.year, args.out)
        except PlanError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(path)
        return 0
    if args.command == "sample":
        from egov.pipeline.reported.sample import drop_sample

        try:
            print(drop_sample(args.plan, args.year))
        except PlanError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    from egov.pipeline.reported.intake import take_inbox

    outcomes = take_inbox()
    print(json.dumps([o.as_dict() for o in outcomes], ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The long schemathesis run: every check, every operation, as each role, until each role has
had at least --min-cases cases; 0 failures of any kind is a pass.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orderflow scripts/schema-fuzz [--min-cases 5000]

Runs against a scratch copy of the database (DATABASE_URL's name + `_schema`, created and
dropped here), the demo data, a private redis-server and a live daphne (tests/schema/fuzz.py).
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from config.celery import app as celery_app  # noqa: E402

celery_app.loader.import_default_modules()  # the demo data queues refunds, run inline here

from django.db import connection  # noqa: E402

from tests.schema.fuzz import ROLES, live_server, run_role, seed  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-cases", type=int, default=5000, help="cases per role (default 5000)")
    parser.add_argument("--examples", type=int, default=80, help="examples per operation in the first pass")
    parser.add_argument("--roles", default=",".join(ROLES), help="comma-separated: " + ", ".join(ROLES))
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL=postgres://... (a scratch copy is made from it).")

    name = f"{connection.settings_dict['NAME']}_schema"
    connection.settings_dict["TEST"]["NAME"] = name
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    db = connection.settings_dict
    url = f"postgres://{db['USER']}{':' + db['PASSWORD'] if db['PASSWORD'] else ''}@{db['HOST'] or '127.0.0.1'}"
    url += f":{db['PORT'] or 5432}/{name}"
    server = redis_server = None
    failed = False
    try:
        seed()
        server, redis_server = live_server(url)
        print(f"{'role':9} {'cases':>6}  result")
        for role in args.roles.split(","):
            cases, seconds, examples, passes = 0, 0.0, args.examples, 0
            kinds: list[str] = []
            while cases < args.min_cases:
                result = run_role(server, role, examples=examples, seed=args.seed, max_time=None)
                passes += 1
                cases += result.cases
                seconds += result.seconds
                if not result.passed:
                    kinds.append(result.summary())
                    print(result.output, file=sys.stderr)
                    break
                # Not there yet: another pass with more examples (schemathesis draws afresh each run).
                examples *= 2
            failed = failed or bool(kinds)
            verdict = (
                "; ".join(kinds) if kinds else "0 failures (server errors, schema violations, undocumented statuses)"
            )
            print(f"{role:9} {cases:6}  {seconds:6.0f} s in {passes} run(s)  {verdict}", flush=True)
    finally:
        if server is not None:
            server.stop()
        if redis_server is not None:
            redis_server.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

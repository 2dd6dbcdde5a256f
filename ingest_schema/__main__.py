"""`python -m ingest_schema [--cluster NAME] [--database DB] [--apply DSN]`: print or apply the DDL.

Without `--apply` it prints the single-node or cluster DDL. With `--apply http://host:8123` (credentials
by `--user` and `--password-file`, or percent-encoded in the URL) and `--cluster`, it converges a
ClickHouse cluster on the declared schema and records every migration as applied (collectors
configured with COLLECTOR_CLICKHOUSE_CLUSTER then only check it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ingest_schema.cluster import cluster_ddl, converge_statements, single_node_ddl
from ingest_schema.migrate import MIGRATIONS


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ingest_schema", description=__doc__)
    parser.add_argument("--database", default="analytics")
    parser.add_argument("--cluster", help="render ReplicatedMergeTree + Distributed DDL for this cluster")
    parser.add_argument("--apply", metavar="DSN", help="run the cluster DDL against this ClickHouse server")
    parser.add_argument("--user", default="", help="ClickHouse user for --apply (wins over the DSN's)")
    parser.add_argument("--password-file", type=Path, help="file holding the password for --apply (Docker secrets)")
    args = parser.parse_args()
    if not args.apply:
        statements = cluster_ddl(args.database, args.cluster) if args.cluster else single_node_ddl(args.database)
        print(";\n\n".join(statements) + ";")
        return
    if not args.cluster:
        parser.error("--apply needs --cluster (a single node applies migrations itself at start)")
    import clickhouse_connect

    from ingest_schema.storage import client_args  # loads the client only when applying

    password = args.password_file.read_text().removesuffix("\n") if args.password_file else ""
    client = clickhouse_connect.get_client(**client_args(args.apply, args.user, password))
    for statement in converge_statements(args.database, args.cluster):
        client.command(statement)
    applied = {int(r[0]) for r in client.query(f"SELECT version FROM `{args.database}`.schema_migrations").result_rows}
    missing = [[m.version, m.description] for m in MIGRATIONS if m.version not in applied]
    if missing:
        client.insert(f"`{args.database}`.schema_migrations", missing, column_names=["version", "description"])
    print(f"cluster {args.cluster}: schema converged, migrations recorded: {[m[0] for m in missing]}")


if __name__ == "__main__":
    main()

"""`python -m ingest_schema [--cluster NAME] [--database DB] [--apply DSN]`: print or apply the DDL.

Without `--apply` it prints the single-node or cluster DDL. With `--apply http://user:pass@host:8123`
and `--cluster`, it converges a ClickHouse cluster on the declared schema and records every
migration as applied (collectors configured with COLLECTOR_CLICKHOUSE_CLUSTER then only check it).
"""

from __future__ import annotations

import argparse

from ingest_schema.cluster import cluster_ddl, converge_statements, single_node_ddl
from ingest_schema.migrate import MIGRATIONS


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ingest_schema", description=__doc__)
    parser.add_argument("--database", default="analytics")
    parser.add_argument("--cluster", help="render ReplicatedMergeTree + Distributed DDL for this cluster")
    parser.add_argument("--apply", metavar="DSN", help="run the cluster DDL against this ClickHouse server")
    args = parser.parse_args()
    if not args.apply:
        statements = cluster_ddl(args.database, args.cluster) if args.cluster else single_node_ddl(args.database)
        print(";\n\n".join(statements) + ";")
        return
    if not args.cluster:
        parser.error("--apply needs --cluster (a single node applies migrations itself at start)")
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=args.apply)
    for statement in converge_statements(args.database, args.cluster):
        client.command(statement)
    applied = {int(r[0]) for r in client.query(f"SELECT version FROM `{args.database}`.schema_migrations").result_rows}
    missing = [[m.version, m.description] for m in MIGRATIONS if m.version not in applied]
    if missing:
        client.insert(f"`{args.database}`.schema_migrations", missing, column_names=["version", "description"])
    print(f"cluster {args.cluster}: schema converged, migrations recorded: {[m[0] for m in missing]}")


if __name__ == "__main__":
    main()

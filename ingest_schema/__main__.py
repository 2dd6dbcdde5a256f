"""`python -m ingest_schema [--cluster NAME] [--database DB]`: print the DDL (single node or cluster)."""

from __future__ import annotations

import argparse

from .cluster import cluster_ddl, single_node_ddl


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ingest_schema", description=__doc__)
    parser.add_argument("--database", default="analytics")
    parser.add_argument("--cluster", help="render ReplicatedMergeTree + Distributed DDL for this cluster")
    args = parser.parse_args()
    statements = cluster_ddl(args.database, args.cluster) if args.cluster else single_node_ddl(args.database)
    print(";\n\n".join(statements) + ";")


if __name__ == "__main__":
    main()

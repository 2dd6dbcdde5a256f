"""HTTP handlers: each module owns one group of routes and registers them with `setup_routes`."""

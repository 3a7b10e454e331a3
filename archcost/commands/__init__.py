"""One module per CLI verb, each exposing ``command`` (a click.Command); loaded lazily."""
